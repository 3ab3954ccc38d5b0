#!/bin/sh
# The command lines of README.md "Commands" (test/readme.test.ts checks that the two agree and
# runs each one). Run from the repository's root.
set -e
npx hatwin check examples/scenario.yaml
npx hatwin sim examples/scenario.yaml --seed 2 --trace out/examples/scenario.ndjson
npx hatwin run demo --runs 3 --out out/examples
npx hatwin settle --help
