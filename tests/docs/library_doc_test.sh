#!/usr/bin/env bash
# docs/library.md has a section for every public header, and the umbrella
# header <imgtool/imgtool.hpp> includes every one: a header added to
# include/imgtool/ without either fails here. (The examples on the page are
# compiled and run by docs.library_example.*.) Usage: library_doc_test.sh SOURCE_DIR
set -euo pipefail
src=$1
doc=$src/docs/library.md
umbrella=$src/include/imgtool/imgtool.hpp
bad=0

headers=()
for f in "$src"/include/imgtool/*.hpp "$src"/include/imgtool/*.hpp.in; do
  [ -e "$f" ] || continue
  h=${f##*/}
  headers+=("${h%.in}")  # version.hpp is generated from version.hpp.in
done
[ ${#headers[@]} -ge 10 ] || { echo "found only ${#headers[@]} public headers in $src/include/imgtool"; exit 1; }

for h in "${headers[@]}"; do
  grep -qxF "## \`<imgtool/$h>\`" "$doc" || { echo "docs/library.md: no section '## \`<imgtool/$h>\`'"; bad=1; }
  [ "$h" = imgtool.hpp ] && continue
  grep -qxF "#include \"imgtool/$h\"" "$umbrella" ||
    { echo "include/imgtool/imgtool.hpp does not include imgtool/$h"; bad=1; }
done
# And the other way round: no section or include for a header that is gone.
# shellcheck disable=SC2016 # the backquotes are markdown
while IFS= read -r h; do
  [[ " ${headers[*]} " == *" $h "* ]] || { echo "docs/library.md: section for a header that does not exist: $h"; bad=1; }
done < <(sed -n 's/^## `<imgtool\/\(.*\)>`$/\1/p' "$doc")
while IFS= read -r h; do
  [[ " ${headers[*]} " == *" $h "* ]] || { echo "imgtool.hpp includes a header that does not exist: $h"; bad=1; }
done < <(sed -n 's/^#include "imgtool\/\(.*\)"$/\1/p' "$umbrella")

[ "$bad" = 0 ] || exit 1
echo "library_doc_test: ${#headers[@]} public headers, each with a section and in the umbrella header"
