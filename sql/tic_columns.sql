-- TIC v8 columns with the types MAST declares for them in its responses (the `fields` of
-- Mast.Catalogs.Filtered.Tic.Rows and Mast.Catalogs.Tic.Cone). A harvested batch is typed by
-- MAST's declaration; these types stand in where a batch leaves a column undeclared, and fix
-- the type when files written by different harvests are merged. ID, a string at MAST, is
-- stored as BIGINT so that it joins lightcurves.tic_id.
CREATE TEMP TABLE tic_columns (
    ID BIGINT, version VARCHAR, HIP BIGINT, TYC VARCHAR, UCAC VARCHAR, TWOMASS VARCHAR,
    SDSS VARCHAR, ALLWISE VARCHAR, GAIA VARCHAR, APASS VARCHAR, KIC BIGINT, objType VARCHAR,
    typeSrc VARCHAR, ra DOUBLE, dec DOUBLE, POSflag VARCHAR, pmRA DOUBLE, e_pmRA DOUBLE,
    pmDEC DOUBLE, e_pmDEC DOUBLE, PMflag VARCHAR, plx DOUBLE, e_plx DOUBLE, PARflag VARCHAR,
    gallong DOUBLE, gallat DOUBLE, eclong DOUBLE, eclat DOUBLE, Bmag DOUBLE, e_Bmag DOUBLE,
    Vmag DOUBLE, e_Vmag DOUBLE, umag DOUBLE, e_umag DOUBLE, gmag DOUBLE, e_gmag DOUBLE, rmag DOUBLE,
    e_rmag DOUBLE, imag DOUBLE, e_imag DOUBLE, zmag DOUBLE, e_zmag DOUBLE, Jmag DOUBLE,
    e_Jmag DOUBLE, Hmag DOUBLE, e_Hmag DOUBLE, Kmag DOUBLE, e_Kmag DOUBLE, TWOMflag VARCHAR,
    prox DOUBLE, w1mag DOUBLE, e_w1mag DOUBLE, w2mag DOUBLE, e_w2mag DOUBLE, w3mag DOUBLE,
    e_w3mag DOUBLE, w4mag DOUBLE, e_w4mag DOUBLE, GAIAmag DOUBLE, e_GAIAmag DOUBLE, Tmag DOUBLE,
    e_Tmag DOUBLE, TESSflag VARCHAR, SPFlag VARCHAR, Teff DOUBLE, e_Teff DOUBLE, logg DOUBLE,
    e_logg DOUBLE, MH DOUBLE, e_MH DOUBLE, rad DOUBLE, e_rad DOUBLE, mass DOUBLE, e_mass DOUBLE,
    rho DOUBLE, e_rho DOUBLE, lumclass VARCHAR, lum DOUBLE, e_lum DOUBLE, d DOUBLE, e_d DOUBLE,
    ebv DOUBLE, e_ebv DOUBLE, numcont BIGINT, contratio DOUBLE, disposition VARCHAR,
    duplicate_id VARCHAR, priority DOUBLE, objID VARCHAR, dstArcSec DOUBLE
);
