#!/usr/bin/env bash
# Fetches the OpenSearch node the OpenSearch tests and benchmark run against, from Maven Central
# into the local repository (~/.m2, cached), and lays it out under bench-data/opensearch (git-ignored):
# the integ-test distribution (the node plugins test against) plus the mapper-extras module, which
# holds rank_features and is published as a jar only (its plugin descriptor is written here).
set -euo pipefail
VERSION="${SPLADEX_OPENSEARCH_VERSION:-2.19.6}"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
HOME_DIR="$ROOT/bench-data/opensearch/opensearch-$VERSION"
if [ -f "$HOME_DIR/modules/mapper-extras/plugin-descriptor.properties" ]; then echo "opensearch $VERSION already at $HOME_DIR"; exit 0; fi
M2="${MAVEN_REPO:-$HOME/.m2/repository}"
mvn -q -B dependency:get -Dartifact="org.opensearch.distribution.integ-test-zip:opensearch:$VERSION:zip" -Dtransitive=false
mvn -q -B dependency:get -Dartifact="org.opensearch.plugin:mapper-extras-client:$VERSION" -Dtransitive=false
mkdir -p "$ROOT/bench-data/opensearch"
rm -rf "$HOME_DIR"
ZIP="$M2/org/opensearch/distribution/integ-test-zip/opensearch/$VERSION/opensearch-$VERSION.zip"
if command -v unzip >/dev/null; then
  unzip -q -o "$ZIP" -d "$ROOT/bench-data/opensearch"
else
  # Python's zipfile drops the executable bits: give them back to the launch scripts.
  python3 -m zipfile -e "$ZIP" "$ROOT/bench-data/opensearch"
  chmod +x "$HOME_DIR"/bin/*
fi
mkdir -p "$HOME_DIR/modules/mapper-extras"
cp "$M2/org/opensearch/plugin/mapper-extras-client/$VERSION/mapper-extras-client-$VERSION.jar" "$HOME_DIR/modules/mapper-extras/"
cat > "$HOME_DIR/modules/mapper-extras/plugin-descriptor.properties" <<PROPS
description=Adds advanced field mappers (rank_features)
version=$VERSION
name=mapper-extras
classname=org.opensearch.index.mapper.MapperExtrasPlugin
java.version=11
opensearch.version=$VERSION
custom.foldername=
extended.plugins=
has.native.controller=false
PROPS
echo "opensearch $VERSION installed at $HOME_DIR"
