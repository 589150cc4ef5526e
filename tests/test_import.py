"""Import into a lake: partitioned Parquet, catalog rows, idempotence, versions, bad input."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from astropy.io import fits

from larun_lake import Lake
from larun_lake.readers.lightcurve import read_lightcurve

from .conftest import FIXTURES, GOLDEN_STALE, KEPLER_Q2, QLP_S24, SPOC_S1, SPOC_S1_OLD


def data_files(lake: Path) -> dict[str, bytes]:
    return {str(p.relative_to(lake)): p.read_bytes() for p in sorted(lake.rglob("*.parquet")) if "_catalog" not in p.parts}


def test_fixture_import_counts(fixture_lake: Path) -> None:
    lake = Lake(fixture_lake)
    states = dict(lake.sql("SELECT state, count(*) FROM products GROUP BY state").fetchall())
    assert states == {"ingested": 24, "skipped": 9, "quarantined": 1}  # a K2 pixel file cut to one image
    kinds = lake.sql("SELECT mission, author, count(*) n FROM lightcurves GROUP BY ALL ORDER BY ALL").fetchall()
    assert kinds == [("K2", "K2", 2), ("Kepler", "Kepler", 3), ("TESS", "QLP", 2), ("TESS", "SPOC", 13), ("TESS", "SPOC-TPF", 1),
                     ("TESS", "TESS-SPOC", 3)]


def test_hive_layout_and_plain_parquet_readers(fixture_lake: Path) -> None:
    parts = {p.parent.relative_to(fixture_lake).as_posix() for p in (fixture_lake / "cadences").rglob("*.parquet")}
    assert "cadences/mission=TESS/author=SPOC/period=s0001" in parts
    assert "cadences/mission=Kepler/author=Kepler/period=q02" in parts
    assert "cadences/mission=K2/author=K2/period=c04" in parts
    # Plain pandas, no LARUN Lake code: the same cadences as the SQL view.
    df = pd.read_parquet(fixture_lake / "cadences", filters=[("target_id", "=", 25155310)])
    via_sql = Lake(fixture_lake).sql(
        "SELECT time, flux FROM cadences WHERE target_id = 25155310 ORDER BY lc_id, cadenceno").df()
    assert len(df) == len(via_sql) == 20076 + 15678 + 5
    assert set(df["period"].astype(str)) == {"s0001", "s0006"}
    sorted_df = df.sort_values(["lc_id", "cadenceno"])
    np.testing.assert_array_equal(sorted_df["flux"].to_numpy(), via_sql["flux"].to_numpy())
    # Partition columns are not repeated inside the files.
    one = next((fixture_lake / "cadences").rglob("*.parquet"))
    assert not {"mission", "author", "period"} & set(pq.read_schema(one).names)


def test_cadences_match_the_fits_file(fixture_lake: Path) -> None:
    lake = Lake(fixture_lake)
    got = lake.sql("SELECT time, flux, flux_err, pdcsap_flux, sap_flux, quality, sector FROM cadences "
                   "WHERE lc_id = 'TESS:SPOC:25155310:s0001:120' ORDER BY cadenceno").df()
    raw = fits.getdata(SPOC_S1, 1)
    np.testing.assert_array_equal(got["time"], raw["TIME"])
    np.testing.assert_array_equal(got["flux"].to_numpy(), raw["PDCSAP_FLUX"])
    np.testing.assert_array_equal(got["pdcsap_flux"].to_numpy(), raw["PDCSAP_FLUX"])
    np.testing.assert_array_equal(got["sap_flux"].to_numpy(), raw["SAP_FLUX"])
    np.testing.assert_array_equal(got["quality"].to_numpy(), raw["QUALITY"])
    assert (got["sector"] == 1).all()
    assert got["flux"].dtype == np.float32  # no float64 blow-up


def test_lightcurves_row(fixture_lake: Path) -> None:
    row = Lake(fixture_lake).sql(
        "SELECT * FROM lightcurves WHERE lc_id = 'Kepler:Kepler:10002792:q02:1800'").df().iloc[0]
    assert row["target_id"] == 10002792 and row["quarter"] == 2 and pd.isna(row["sector"])
    assert row["n_cadences"] == 4354 and row["data_rel"] == 25 and row["exptime_s"] == 1800
    assert row["file_sha256"] == hashlib.sha256(KEPLER_Q2.read_bytes()).hexdigest()
    assert row["file_name"] == KEPLER_Q2.name and row["checksum_ok"]
    assert row["run_id"] and row["ingested_at"] is not None


def test_runs_record_versions_and_counts(fixture_lake: Path) -> None:
    run = Lake(fixture_lake).sql("SELECT * FROM runs ORDER BY started_at LIMIT 1").df().iloc[0]
    assert run["command"] == "import" and run["status"] == "partial"
    assert run["n_files"] == 34 and run["n_ingested"] == 24 and run["n_skipped"] == 9 and run["n_quarantined"] == 1
    for column in ("larun_lake_version", "astropy_version", "lightkurve_version", "astroquery_version",
                   "duckdb_version", "pyarrow_version"):
        assert run[column], column


def test_quality_bits_match_lightkurve(fixture_lake: Path) -> None:
    from lightkurve.utils import KeplerQualityFlags, TessQualityFlags

    lake = Lake(fixture_lake)
    tess = lake.sql("SELECT sum(value) FILTER (in_default) FROM quality_bits "
                    "WHERE mission = 'TESS' AND author = 'SPOC'").fetchall()[0][0]
    assert tess == TessQualityFlags.DEFAULT_BITMASK
    kepler_hard = lake.sql("SELECT quality_bitmask('Kepler', 'Kepler', 'hard', NULL)").fetchall()[0][0]
    assert kepler_hard == KeplerQualityFlags.HARD_BITMASK
    qlp = lake.sql("SELECT quality_bitmask('TESS', 'QLP', 'hard', 24), quality_bitmask('TESS', 'QLP', 'hard', 60)").fetchall()
    assert qlp == [(TessQualityFlags.HARD_BITMASK | 4096, TessQualityFlags.HARD_BITMASK | 2**30)]


def test_n_good_equals_cadences_passing_the_default_mask(fixture_lake: Path) -> None:
    rows = Lake(fixture_lake).sql(
        "SELECT l.lc_id, any_value(l.n_good) n_good, "
        "count(*) FILTER (isfinite(c.time) AND is_good(c.flux, c.quality, "
        "quality_bitmask(l.mission, l.author, 'default', l.sector))) AS n "
        "FROM lightcurves l JOIN cadences c USING (lc_id) GROUP BY l.lc_id").fetchall()
    assert len(rows) == 24
    assert all(n_good == n for _, n_good, n in rows)


def test_reimport_changes_nothing(lake_copy: Path) -> None:
    before = data_files(lake_copy)
    versions_before = Lake(lake_copy).sql("SELECT * FROM lightcurve_versions ORDER BY ALL").df()
    report = Lake(lake_copy).import_files([FIXTURES])
    assert report.ingested == 0 and report.unchanged == 24
    assert data_files(lake_copy) == before
    pd.testing.assert_frame_equal(Lake(lake_copy).sql("SELECT * FROM lightcurve_versions ORDER BY ALL").df(),
                                  versions_before)


def _with_release(src: Path, dest: Path, data_rel: int, procver: str, scale: float = 1.0) -> Path:
    with fits.open(src) as hdul:
        hdul[0].header["DATA_REL"] = data_rel
        hdul[0].header["PROCVER"] = procver
        hdul[1].data["PDCSAP_FLUX"] = hdul[1].data["PDCSAP_FLUX"] * scale
        hdul.writeto(dest, checksum=True)
    return dest


def test_newer_release_supersedes_and_history_is_kept(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    lake.import_files([SPOC_S1, QLP_S24])
    newer = _with_release(SPOC_S1, tmp_path / "newer_lc.fits", 99, "spoc-9.9.9-20300101", scale=2.0)
    report = lake.import_files([newer])
    assert report.ingested == 1 and report.superseded == 1
    lc_id = "TESS:SPOC:25155310:s0001:120"
    versions = lake.sql("SELECT data_rel, is_current, data_file FROM lightcurve_versions WHERE lc_id = ? "
                        "ORDER BY data_rel", [lc_id]).fetchall()
    assert [(v[0], v[1]) for v in versions] == [(42, False), (99, True)]
    assert versions[0][2].startswith("_history/")
    assert lake.sql("SELECT count(*) FROM lightcurves WHERE lc_id = ?", [lc_id]).fetchall() == [(1,)]
    flux = lake.sql("SELECT flux FROM cadences WHERE lc_id = ? ORDER BY cadenceno LIMIT 5", [lc_id]).df()["flux"]
    original = fits.getdata(SPOC_S1, 1)["PDCSAP_FLUX"][:5]
    np.testing.assert_allclose(flux.to_numpy(), original * 2.0)
    assert lake.sql("SELECT count(*) FROM cadences WHERE lc_id = ?", [lc_id]).fetchall() == [(20076,)]
    # Superseded rows left the cadences folder, so plain readers see one version only.
    plain = pd.read_parquet(tmp_path / "lake" / "cadences", filters=[("lc_id", "=", lc_id)])
    assert len(plain) == 20076
    old_rows = pd.read_parquet(tmp_path / "lake" / "_history")
    assert len(old_rows) == 20076
    states = dict(lake.sql("SELECT file_name, state FROM products").fetchall())
    assert states[SPOC_S1.name] == "superseded" and states["newer_lc.fits"] == "ingested"
    # The other light curve in the lake is untouched.
    assert lake.sql("SELECT count(*) FROM cadences WHERE author = 'QLP'").fetchall() == [(1226,)]


def test_older_release_imported_later_does_not_replace_current(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    lake.import_files([SPOC_S1])
    older = _with_release(SPOC_S1, tmp_path / "older_lc.fits", 5, "spoc-3.0.0-20180101", scale=3.0)
    report = lake.import_files([older])
    assert report.ingested == 1 and report.superseded == 0
    current = lake.sql("SELECT data_rel FROM lightcurves WHERE target_id = 25155310").fetchall()
    assert current == [(42,)]
    assert lake.sql("SELECT count(*) FROM superseded_lightcurves").fetchall() == [(1,)]


def test_many_imports_do_not_explode_into_one_file_per_light_curve(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    for path in sorted((FIXTURES / "tess_spoc").glob("*s0001*")):
        lake.import_files([path])
    files = list((tmp_path / "lake" / "cadences" / "mission=TESS" / "author=SPOC" / "period=s0001").glob("*.parquet"))
    assert len(files) == 1
    assert lake.sql("SELECT count(DISTINCT lc_id) FROM cadences WHERE period = 's0001'").fetchall() == [(2,)]


def test_bad_files_are_recorded_and_others_ingested(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(KEPLER_Q2, src)
    (src / "half_lc.fits").write_bytes(SPOC_S1.read_bytes()[:1_000_000])
    (src / "empty_lc.fits").write_bytes(b"")
    (src / "notes_lc.fits").write_text("hello")
    shutil.copy(GOLDEN_STALE, src)
    lake = Lake(tmp_path / "lake")
    report = lake.import_files([src])
    assert (report.ingested, report.quarantined, report.failed) == (2, 3, 0)
    assert not report.ok
    rows = dict(lake.sql("SELECT file_name, state || ': ' || coalesce(last_error, '') FROM products").fetchall())
    assert rows["half_lc.fits"].startswith("quarantined: truncated")
    assert rows["empty_lc.fits"] == "quarantined: empty file"
    assert rows["notes_lc.fits"].startswith("quarantined: not a FITS file")
    assert lake.sql("SELECT checksum_ok FROM lightcurves WHERE file_name = 'golden-lc.fits'").fetchall() == [(False,)]
    assert lake.sql("SELECT attempts FROM products WHERE file_name = 'empty_lc.fits'").fetchall() == [(1,)]


def test_import_never_touches_the_users_files(tmp_path: Path) -> None:
    src = tmp_path / "cache"
    shutil.copytree(FIXTURES / "kepler", src)
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in src.iterdir()}
    Lake(tmp_path / "lake").import_files([src])
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in src.iterdir()} == before


def test_row_groups_let_duckdb_skip_by_target(fixture_lake: Path) -> None:
    path = next((fixture_lake / "cadences" / "mission=TESS" / "author=SPOC" / "period=s0001").glob("*.parquet"))
    meta = pq.ParquetFile(path).metadata
    assert meta.num_row_groups >= 2
    idx = pq.read_schema(path).get_field_index("target_id")
    ranges = [(meta.row_group(i).column(idx).statistics.min, meta.row_group(i).column(idx).statistics.max)
              for i in range(meta.num_row_groups)]
    assert ranges == sorted(ranges)
    assert all(lo == hi for lo, hi in ranges)  # one star per row group for two-minute sectors
    chunks = dict(duckdb.sql(
        f"SELECT path_in_schema, compression || ' ' || encodings FROM parquet_metadata('{path}') WHERE row_group_id = 0"
    ).fetchall())
    assert chunks["flux"].startswith("LZ4_RAW") and "BYTE_STREAM_SPLIT" in chunks["flux"]
    assert "DELTA_BINARY_PACKED" in chunks["cadenceno"]


def test_identity_is_stable_across_import_paths(tmp_path: Path) -> None:
    renamed = tmp_path / "target_s0001.fits"
    shutil.copy(SPOC_S1_OLD, renamed)
    a, b = read_lightcurve(str(renamed)), read_lightcurve(str(SPOC_S1_OLD))
    assert a.lc_id == b.lc_id


def test_twenty_second_and_kepler_short_cadence_products(tmp_path: Path) -> None:
    from tests.fitsgen import write_kepler_lightcurve, write_spoc_lightcurve

    fast = write_spoc_lightcurve(tmp_path / "in", tic_id=123456789, sector=27, exptime_s=20, n_cadences=3000)
    short = write_kepler_lightcurve(tmp_path / "in", kepler_id=11904151, quarter=4, short_cadence=True,
                                    n_cadences=3000)
    assert fast.name.endswith("_fast-lc.fits") and short.name.endswith("_slc.fits")
    lake = Lake(tmp_path / "lake")
    report = lake.import_files([tmp_path / "in"])
    assert report.ingested == 2
    rows = dict(lake.sql("SELECT mission, lc_id FROM lightcurves").fetchall())
    assert rows["TESS"] == "TESS:SPOC:123456789:s0027:20"
    assert rows["Kepler"].startswith("Kepler:Kepler:11904151:q04:60:c")  # segment tag: one of three per quarter


def test_folder_without_fits_is_refused_and_no_lake_is_created(tmp_path: Path) -> None:
    from larun_lake import UsageError

    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no light curves here")
    with pytest.raises(UsageError, match="no FITS files found"):
        Lake(tmp_path / "lake").import_files([tmp_path / "empty"])
    assert not (tmp_path / "lake").exists()


def test_names_that_lie_about_the_target_still_give_sorted_data_files(tmp_path: Path) -> None:
    from tests.fitsgen import write_spoc_lightcurve

    # MAST-style names that lie about the target: light curves reach the writer out of order.
    src = tmp_path / "in"
    for n, tic in enumerate((300, 100, 400, 200)):
        name = f"tess2019140104343-s0005-{n + 1:016d}-0144-s_lc.fits"
        written = write_spoc_lightcurve(tmp_path / "gen", tic_id=tic, sector=5, n_cadences=2000, seed=tic)
        src.mkdir(exist_ok=True)
        written.rename(src / name)
    from larun_lake.ingest.convert import InputFile
    from larun_lake.ingest.stage import stage_chunk
    from larun_lake.layout import LakeLayout

    items = [InputFile(p, p.as_uri()) for p in sorted(src.iterdir())]
    scratch = LakeLayout.at(tmp_path / "scratch")
    assert len(stage_chunk(items, frozenset(), scratch, "run", 1).staged) == 3  # 300 | 100, 400 | 200
    lake = Lake(tmp_path / "lake")
    assert lake.import_files([src]).ingested == 4
    report = lake.verify()
    assert report.consistent and not report.repairs
    paths = [r[0] for r in lake.sql("SELECT DISTINCT data_file FROM lightcurve_versions").fetchall()]
    assert len(paths) == 1  # the out-of-order pieces were merged into one file
    targets = pq.read_table(tmp_path / "lake" / paths[0], columns=["target_id"]).column("target_id").to_numpy()
    assert (np.diff(targets) >= 0).all() and set(targets) == {100, 200, 300, 400}
    counts = dict(lake.sql("SELECT target_id, count(*) FROM cadences GROUP BY ALL").fetchall())
    assert counts == {100: 2000, 200: 2000, 300: 2000, 400: 2000}


def test_twenty_second_and_two_minute_files_of_a_sector_stage_into_one_sorted_file(tmp_path: Path) -> None:
    from larun_lake.ingest.convert import InputFile
    from larun_lake.ingest.order import in_conversion_order
    from larun_lake.ingest.stage import stage_chunk
    from larun_lake.layout import LakeLayout
    from tests.fitsgen import write_spoc_lightcurve

    paths = [write_spoc_lightcurve(tmp_path / "in", tic_id=tic, sector=27, exptime_s=exptime, n_cadences=500,
                                   seed=tic + exptime)
             for tic in (300, 100, 200) for exptime in (20, 120)]
    items = in_conversion_order([InputFile(p, p.as_uri()) for p in paths])
    scratch = LakeLayout.at(tmp_path / "scratch")
    chunk = stage_chunk(items, frozenset(), scratch, "run", 1)
    assert len(chunk.staged) == 1  # same-target files in any order do not split the staged file
    staged = chunk.staged[0]
    assert len(staged.placements) == 6
    targets = pq.read_table(scratch.store.path(staged.path), columns=["target_id"]).column("target_id").to_numpy()
    assert (np.diff(targets) >= 0).all()


def test_conversion_order_reads_mast_names_as_their_headers_say() -> None:
    from larun_lake.errors import ProductError
    from larun_lake.ingest.order import conversion_order

    checked = 0
    for path in sorted(FIXTURES.rglob("*.fits*")):
        group, period, target, _ = conversion_order(path)
        if group == "~":
            continue
        try:
            meta = read_lightcurve(str(path)).meta
        except ProductError:
            continue
        # Pixel files sort with their pipeline's light curves: SPOC-TPF with SPOC.
        assert group == f"{meta['mission']}:{meta['author'].removesuffix('-TPF')}", path.name
        assert target == meta["target_id"], path.name
        if meta["mission"] != "Kepler":  # a Kepler name carries a time stamp, not the quarter
            assert period == int(meta["period"][1:]), path.name
        checked += 1
    assert checked >= 15


def test_conversion_order_groups_target_first_names_by_period() -> None:
    from larun_lake.ingest.order import conversion_order

    names = [f"kplr{kic:09d}-{stamp}_llc.fits" for kic in (10002792, 5110407, 11904151)
             for stamp in (2009259160929, 2009350155506, 2010078095331)]
    names += ["target_s0003.fits", f"ktwo{211117077}-c04_llc.fits"]
    ordered = [p.name for p in sorted(map(Path, names), key=conversion_order)]
    assert ordered[:3] == ["ktwo211117077-c04_llc.fits", "kplr005110407-2009259160929_llc.fits",
                           "kplr010002792-2009259160929_llc.fits"]
    assert [n.split("-")[1][:13] for n in ordered[1:10]] == ["2009259160929"] * 3 + ["2009350155506"] * 3 + [
        "2010078095331"] * 3
    assert ordered[-1] == "target_s0003.fits"


class _CountingConnection:
    """A catalog connection that counts the statements sent through it."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con
        self.statements = 0

    def execute(self, *args, **kwargs):
        self.statements += 1
        return self._con.execute(*args, **kwargs)

    def __getattr__(self, name: str):
        return getattr(self._con, name)


@pytest.mark.slow
def test_small_light_curves_batch_after_batch_cost_the_same_per_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows are rewritten a bounded number of times and catalog statements per batch stay flat.

    Before, every batch was merged into its partition's growing small file with one UPDATE per
    light curve already in it: the cost of a file grew with the number of files before it.
    """
    from larun_lake.ingest import commit, importer, order
    from larun_lake.lake import writer
    from tests.fitsgen import make_qlp_set

    files = make_qlp_set(tmp_path / "in", 160, min_cadences=100, max_cadences=200, sectors=(7,), seed=4)
    statements: list[int] = []
    rewritten = [0]

    def counting_committer(con, *args, **kwargs):
        counted = _CountingConnection(con)
        statements.append(0)
        committer = commit.BatchCommitter(counted, *args, **kwargs)
        original = committer.commit

        def commit_and_count(*a, **k):
            try:
                return original(*a, **k)
            finally:
                statements[-1] = counted.statements

        committer.commit = commit_and_count
        return committer

    def counting_write(store, path, lightcurves):
        written = writer.write_file(store, path, lightcurves)
        rewritten[0] += written.n_rows
        return written

    monkeypatch.setattr(importer, "CHUNK_FILES", 2)  # 80 small batches into one partition, as harvest commits
    monkeypatch.setattr(order, "CHUNK_BYTES", 0)
    monkeypatch.setattr(importer, "BatchCommitter", counting_committer)
    monkeypatch.setattr(commit, "write_file", counting_write)
    lake = Lake(tmp_path / "lake")
    report = lake.import_files([tmp_path / "in"], workers=1)
    assert report.ingested == 160 and len(statements) == 80
    ingested_rows = report.cadences
    # Size-tiered merging: each row climbs a few size classes at most (here 4), then the run's end.
    assert rewritten[0] <= 5 * ingested_rows, (rewritten[0], ingested_rows)
    # One statement per kind of catalog change, whatever the partition already holds.
    assert max(statements[:-1]) <= 30, statements
    assert max(statements[-10:-1]) <= max(statements[:10]) + 10, statements

    # Nothing lost or duplicated; the run leaves one sorted file behind.
    counts = dict(lake.sql("SELECT lc_id, count(*) FROM cadences GROUP BY ALL").fetchall())
    expected = dict(lake.sql("SELECT lc_id, n_cadences FROM lightcurves").fetchall())
    assert counts == expected and len(counts) == 160 and sum(counts.values()) == ingested_rows
    paths = [r[0] for r in lake.sql("SELECT path FROM data_files WHERE area = 'cadences'").fetchall()]
    assert len(paths) == 1
    targets = pq.read_table(tmp_path / "lake" / paths[0], columns=["target_id"]).column("target_id").to_numpy()
    assert (np.diff(targets) >= 0).all()
    flux = lake.sql("SELECT flux FROM cadences WHERE target_id = 200000042 ORDER BY cadenceno").df()["flux"]
    np.testing.assert_array_equal(flux.to_numpy(), fits.getdata(files[42], 1)["SAP_FLUX"])
    report = lake.verify()
    assert report.consistent and not report.repairs
    on_disk = {p.relative_to(tmp_path / "lake").as_posix() for p in (tmp_path / "lake" / "cadences").rglob("*.parquet")}
    assert on_disk == set(paths)


def test_merge_groups_are_size_tiered() -> None:
    from larun_lake.lake.writer import MERGE_FANIN, SMALL_FILE_ROWS, merge_groups

    same_size = [(f"f{i}", 1000 + i) for i in range(MERGE_FANIN)]
    assert merge_groups(same_size) == [[p for p, _ in same_size]]
    assert merge_groups(same_size[:-1]) == []  # not yet enough of one size
    mixed = [("tiny", 10), ("small", 1000), ("medium", 50_000), ("large", SMALL_FILE_ROWS)]
    assert merge_groups(mixed) == []  # files of different sizes wait for peers
    # The end of a run merges its own files, and older ones up to MERGE_FANIN times their rows.
    assert merge_groups(mixed, run_files={"tiny", "small"}) == [["tiny", "small"]]
    assert merge_groups(mixed, run_files={"small", "large"}) == [["small", "tiny"]]  # large files stay
    assert merge_groups(mixed, run_files={"medium"}) == [["medium", "tiny", "small"]]
    assert merge_groups(mixed, run_files={"tiny"}) == []  # older files are too large to rewrite for it


def test_one_batch_superseding_light_curves_of_one_file_from_two_staged_files(tmp_path: Path) -> None:
    """Two staged files of one batch retire versions held in the same data file: each row moves once."""
    from tests.fitsgen import write_spoc_lightcurve

    lake = Lake(tmp_path / "lake")
    first = [write_spoc_lightcurve(tmp_path / "v1", tic_id=tic, sector=5, n_cadences=500, seed=tic)
             for tic in (100, 200, 300, 400)]
    assert lake.import_files([tmp_path / "v1"]).ingested == 4
    # A later release of three of them, named so that they reach the writer out of target order
    # (300 | 100, 200): two staged files in one batch, both retiring rows of the first file.
    src = tmp_path / "v2"
    src.mkdir()
    newer = {}
    for n, tic in enumerate((300, 100, 200)):
        written = write_spoc_lightcurve(tmp_path / "gen", tic_id=tic, sector=5, n_cadences=500, seed=tic + 1,
                                        data_rel=99)
        newer[tic] = written.rename(src / f"tess2019140104343-s0005-{n + 1:016d}-0144-s_lc.fits")
    report = lake.import_files([src], workers=1)
    assert (report.ingested, report.superseded) == (3, 3)
    assert dict(lake.sql("SELECT target_id, data_rel FROM lightcurves").fetchall()) == {100: 99, 200: 99, 300: 99,
                                                                                        400: 7}
    old = lake.sql("SELECT target_id, is_current, superseded_by IS NOT NULL, starts_with(data_file, '_history/') "
                   "FROM lightcurve_versions WHERE data_rel = 7 ORDER BY target_id").fetchall()
    assert old == [(100, False, True, True), (200, False, True, True), (300, False, True, True),
                   (400, True, False, False)]
    for tic, path in {**newer, 400: first[3]}.items():
        flux = lake.sql("SELECT flux FROM cadences WHERE target_id = ? ORDER BY cadenceno", [tic]).df()["flux"]
        np.testing.assert_array_equal(flux.to_numpy(), fits.getdata(path, 1)["PDCSAP_FLUX"])
    assert len(pd.read_parquet(tmp_path / "lake" / "_history")) == 3 * 500
    states = dict(lake.sql("SELECT state, count(*) FROM products GROUP BY ALL").fetchall())
    assert states == {"ingested": 4, "superseded": 3}
    report = lake.verify()
    assert report.consistent and not report.repairs
