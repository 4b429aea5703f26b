#!/usr/bin/env bash
# Docs and comments stand alone: nothing refers to a file outside the
# repository (notes the developers kept elsewhere), and every repository path
# that README.md or docs/*.md quotes (`src/...`, `tests/...`) exists.
# Usage: references_test.sh SOURCE_DIR
set -euo pipefail
src=$1
cd "$src"
self=tests/docs/references_test.sh
bad=0

# Text files of the repository: no build trees, no git metadata, no state the
# Glance test services write.
files=()
while IFS= read -r -d '' f; do files+=("${f#./}"); done < <(
  find . \( -path ./.git -o -path './build*' -o -path ./tests/glance/.state \) -prune -o -type f \
    \( -name '*.md' -o -name '*.cpp' -o -name '*.hpp' -o -name '*.in' -o -name '*.sh' -o -name '*.py' \
    -o -name '*.cmake' -o -name CMakeLists.txt -o -name '*.1' -o -name '*.txt' -o -path ./packaging/\* \) \
    -print0)
[ ${#files[@]} -gt 100 ] || { echo "found only ${#files[@]} text files under $src"; exit 1; }

# Files that exist only outside the repository.
scan=()
for f in "${files[@]}"; do [ "$f" = "$self" ] || scan+=("$f"); done
rc=0
grep -nE -e 'STYLE\.md' -e 'formats-facts' -e 'glance-dev\.md' -e '\.\./shared' -e '/work/' -- "${scan[@]}" || rc=$?
case $rc in
  0) echo "^ references to files outside the repository"; bad=1 ;;
  1) ;;
  *) echo "grep failed ($rc)"; exit 1 ;;
esac

# Paths the user documentation quotes.
for f in README.md docs/*.md; do
  # shellcheck disable=SC2016 # the backquotes are markdown
  while IFS= read -r p; do
    path=${p%%:*}
    case "$path" in tests/glance/.state*) continue ;; esac  # written by tests/glance/glance-dev.sh
    [ -e "$path" ] || { echo "$f: \`$p\` does not exist in the repository"; bad=1; }
  done < <(grep -oE '`(src|tests|docs|include|tools|scripts|bench|cmake|packaging)/[^` ]*`' "$f" | tr -d '`' |
    grep -v '[<*]' | sort -u)
done

[ "$bad" = 0 ] || { echo "references_test: see above"; exit 1; }
echo "references_test: no reference outside the repository, every quoted path exists"
