#!/usr/bin/env bash
# The geometry operators (_intersects, _nintersects, _intersects_bbox,
# _nintersects_bbox) against real PostGIS, and the refusal without it.
# Prints TAP; needs PGHOST/PGPORT/PGUSER of a running cluster with acl
# installed (test/run.sh provides them).
set -uo pipefail
DB=acl_postgis_$$
NOGIS=acl_nogis_$$
trap 'dropdb --if-exists "$DB" >/dev/null 2>&1; dropdb --if-exists "$NOGIS" >/dev/null 2>&1' EXIT

n=0
check() {	# check DESCRIPTION EXPECTED ACTUAL
    n=$((n + 1))
    if [ "$2" = "$3" ]; then
        echo "ok $n - $1"
    else
        echo "not ok $n - $1"
        echo "#   expected: $2"
        echo "#   got:      $3"
    fi
}
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$DB" -c "$1" 2>&1; }

echo "1..7"
createdb "$DB" && createdb "$NOGIS"
q "CREATE EXTENSION postgis; CREATE EXTENSION acl;
   CREATE TABLE places (id int PRIMARY KEY, name text, geom geometry(Geometry, 4326));
   INSERT INTO places VALUES
     (1, 'inside',  ST_SetSRID(ST_MakePoint(1, 1), 4326)),
     (2, 'outside', ST_SetSRID(ST_MakePoint(10, 10), 4326)),
     (3, 'corner',  ST_SetSRID(ST_MakePoint(2.5, 2.5), 4326)),
     (4, 'unknown', NULL);
   CREATE FUNCTION matches(rule jsonb) RETURNS text LANGUAGE plpgsql AS \$\$
   DECLARE r text; BEGIN
     EXECUTE 'SELECT coalesce(string_agg(id::text, '','' ORDER BY id), '''') FROM places WHERE '
             || acl.compile('places', rule) INTO r;
     RETURN r; END \$\$;" >/dev/null

# A triangle that holds point 1 but whose bounding box also holds point 3.
TRIANGLE='{"type": "Polygon", "coordinates": [[[0, 0], [3, 0], [0, 3], [0, 0]]]}'
check "_intersects matches the geometries inside the shape" "1" \
      "$(q "SELECT matches('{\"geom\": {\"_intersects\": $TRIANGLE}}')")"
check "_nintersects matches the others, never NULL geometries" "2,3" \
      "$(q "SELECT matches('{\"geom\": {\"_nintersects\": $TRIANGLE}}')")"
check "_intersects_bbox uses the bounding box" "1,3" \
      "$(q "SELECT matches('{\"geom\": {\"_intersects_bbox\": $TRIANGLE}}')")"
check "_nintersects_bbox is its complement" "2" \
      "$(q "SELECT matches('{\"geom\": {\"_nintersects_bbox\": $TRIANGLE}}')")"
check "a permission with a geometry rule is accepted when written" "INSERT 0 1" \
      "$(psql -X -d "$DB" -c "INSERT INTO acl.permissions (policy, collection, action, permissions)
         VALUES ('abf8a154-5b1c-4a46-ac9c-7300570f4f17', 'places', 'read',
                 '{\"geom\": {\"_intersects\": $TRIANGLE}}')" 2>&1)"
check "a malformed GeoJSON value is refused when written" "1" \
      "$(psql -X -d "$DB" -c "SELECT acl.compile('places', '{\"geom\": {\"_intersects\": {\"type\": \"Blob\"}}}')" 2>&1 | grep -c ERROR)"
psql -X -q -d "$NOGIS" -c "CREATE EXTENSION acl; CREATE TABLE spots (id int PRIMARY KEY, name text);" >/dev/null
check "without PostGIS the error names PostGIS" "ERROR:  permissions.name._intersects: operator _intersects needs PostGIS" \
      "$(psql -X -d "$NOGIS" -c "SELECT acl.compile('spots', '{\"name\": {\"_intersects\": $TRIANGLE}}')" 2>&1 | head -1)"
