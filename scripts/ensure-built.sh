#!/bin/sh
# Run by a start:* script whose dist/ files are missing (a fresh checkout has none): builds
# them, or says plainly why they cannot be built here.
if [ ! -x node_modules/.bin/tsc ]; then
  echo "printready: dist/ is not built, and building it needs the dev dependencies: run npm ci, then npm run build." >&2
  exit 1
fi
exec npm run build
