#!/usr/bin/env bash
# Fetch the site's JavaScript assets from the npm registry into .web-assets/ (git-ignored), so the
# built website loads no third-party scripts, styles or fonts: it works offline and where public
# CDNs are slow or blocked. _config.yml serves this folder as static files (html_static_path):
#   mathjax/       MathJax 3 (es5 build, with its fonts and TeX extensions)  -> Sphinx `mathjax_path`
#   require.min.js RequireJS, which the widget manager needs                -> myst-nb `nb_ipywidgets_js`
#   widgets/       @jupyter-widgets/html-manager's embed-amd.js + its fonts -> myst-nb `nb_ipywidgets_js`
#   font-awesome/  Font Awesome 4 (css + fonts) for the buttons of matplotlib's JS animations,
#                  which tools/local_assets.py points at instead of a CDN
# Versions and tarball hashes are pinned here; nothing fetched is committed.
# Usage: bash tools/fetch_web_assets.sh [DEST]   (needs `npm`; run by `make book`)
set -euo pipefail

DEST=${1:-.web-assets}
MATHJAX=mathjax@3.2.2
MATHJAX_SHA=sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw==
REQUIREJS=requirejs@2.3.8
REQUIREJS_SHA=sha512-7/cTSLOdYkNBNJcDMWf+luFvMriVm7eYxp4BcFCsAX0wF421Vyce5SXP17c+Jd5otXKGNehIonFlyQXSowL6Mw==
WIDGETS=@jupyter-widgets/html-manager@1.0.15   # the html-manager of ipywidgets 8.1
WIDGETS_SHA=sha512-5thBIV6ymNgmPVOHvzx+gGy8ZSKmSazhtGw4/c4xJDVzRhG9PTeQsRjF3FUTopvFi//SABeNz1yp47bCrJ3CQA==
FONTAWESOME=font-awesome@4.7.0
FONTAWESOME_SHA=sha512-U6kGnykA/6bFmg1M/oT9EkFeIYv7JlX3bozwQJWiiLz6L0w3F5vBVPxHlwyX/vtNq1ckcpRKOB9f2Qal/VtFpg==

command -v npm >/dev/null || { echo "error: npm not found; install Node.js and npm (Debian: apt-get install -y npm)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# `npm pack` downloads exactly one tarball per package (no dependency tree) and reports its hash.
(cd "$tmp" && npm pack --silent --json "$MATHJAX" "$REQUIREJS" "$WIDGETS" "$FONTAWESOME" > packed.json)
python3 - "$tmp/packed.json" "$MATHJAX_SHA" "$REQUIREJS_SHA" "$WIDGETS_SHA" "$FONTAWESOME_SHA" <<'PY'
import json, sys
packed = json.load(open(sys.argv[1]))
for entry, expected in zip(packed, sys.argv[2:]):
    if entry["integrity"] != expected:
        sys.exit(f"error: {entry['id']} has integrity {entry['integrity']}, expected {expected}")
PY
for f in "$tmp"/*.tgz; do
    mkdir -p "${f%.tgz}" && tar -xzf "$f" -C "${f%.tgz}"
done

rm -rf "$DEST.new" && mkdir -p "$DEST.new/widgets"
cp -r "$tmp"/mathjax-*/package/es5 "$DEST.new/mathjax"
# require.js ships unminified; the name is the one myst-nb's default uses.
cp "$tmp"/requirejs-*/package/require.js "$DEST.new/require.min.js"
# embed-amd.js finds its icon fonts next to itself.
find "$tmp"/jupyter-widgets-html-manager-*/package/dist -maxdepth 1 -type f \
    \( -name embed-amd.js -o -name '*.woff*' -o -name '*.ttf' -o -name '*.eot' -o -name '*.svg' \) \
    -exec cp {} "$DEST.new/widgets/" \;
mkdir -p "$DEST.new/font-awesome"
cp -r "$tmp"/font-awesome-*/package/css "$tmp"/font-awesome-*/package/fonts "$DEST.new/font-awesome/"
echo "$MATHJAX $REQUIREJS $WIDGETS $FONTAWESOME" > "$DEST.new/VERSIONS"
rm -rf "$DEST" && mv "$DEST.new" "$DEST"
echo "web assets: $(cat "$DEST/VERSIONS") -> $DEST ($(du -sh "$DEST" | cut -f1))"
