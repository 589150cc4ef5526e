-- Every table and view of the SQL surface with its columns, types, units and meanings, then the macros.
-- Needs the TEMP tables of schema/descriptions.sql. Tables are the catalog's (attached as `lake`); views
-- are the TEMP views every connection gets, except the *_rows sources the code registers under them.
-- $table: one table, view or macro name (any case), or NULL for all.
WITH surface AS (
    SELECT c.table_name, 'table' AS table_type, c.column_name, c.column_index, c.data_type
    FROM duckdb_columns() c
    WHERE c.database_name = 'lake' AND c.schema_name = 'main'
    UNION ALL
    SELECT c.table_name, 'view', c.column_name, c.column_index, c.data_type
    FROM duckdb_columns() c
    SEMI JOIN duckdb_views() v ON v.view_name = c.table_name AND v.database_name = c.database_name AND v.temporary
    WHERE c.database_name = 'temp' AND NOT suffix(c.table_name, '_rows')
),
macros AS (
    SELECT DISTINCT function_name AS table_name, function_type
    FROM duckdb_functions()
    WHERE database_name = 'temp' AND function_type IN ('macro', 'table_macro')
)
SELECT * EXCLUDE (column_index) FROM (
    SELECT
        s.table_name,
        s.table_type,
        t.description AS table_description,
        s.column_name,
        s.column_index,
        s.data_type,
        coalesce(own.unit, shared.unit) AS unit,
        coalesce(own.description, shared.description) AS description
    FROM surface s
    LEFT JOIN schema_tables t ON t.table_name = s.table_name
    LEFT JOIN schema_columns own ON own.table_name = s.table_name AND lower(own.column_name) = lower(s.column_name)
    LEFT JOIN schema_columns shared
        ON shared.table_name = t.columns_of AND lower(shared.column_name) = lower(s.column_name)
    WHERE $table IS NULL OR lower(s.table_name) = lower($table)
    UNION ALL
    SELECT m.table_name, m.function_type, d.description, NULL, 0, NULL, NULL, NULL
    FROM macros m
    LEFT JOIN schema_macros d ON d.macro_name = m.table_name
    WHERE $table IS NULL OR lower(m.table_name) = lower($table)
)
ORDER BY CASE table_type WHEN 'view' THEN 0 WHEN 'table' THEN 1 ELSE 2 END, table_name, column_index;
