// The value lists in the bash completion (packaging/bash-completion/imgtool)
// are the library's: -f completes imgtool::known_formats(), -O and
// --convert-to imgtool::writable_formats(), -o the convert_option_keys() of
// every writable format. Usage: completion_lists COMPLETION_SCRIPT
#include <fstream>
#include <imgtool/convert.hpp>
#include <imgtool/format.hpp>
#include <iostream>
#include <set>
#include <sstream>
#include <string>

namespace {

// The words of `name='w1 w2 ...'` in the script; empty when absent.
std::set<std::string> script_list(const std::string& script, const std::string& name) {
  const std::string key = "\n" + name + "='";
  const size_t start = script.find(key);
  if (start == std::string::npos) return {};
  const size_t from = start + key.size();
  std::istringstream words(script.substr(from, script.find('\'', from) - from));
  std::set<std::string> out;
  for (std::string w; words >> w;) out.insert(w);
  return out;
}

bool same(const std::string& what, const std::set<std::string>& script,
          const std::set<std::string>& library) {
  if (script == library) return true;
  std::cerr << what << " differ:";
  for (const auto& w : library)
    if (!script.count(w)) std::cerr << " missing " << w << ";";
  for (const auto& w : script)
    if (!library.count(w)) std::cerr << " unknown " << w << ";";
  std::cerr << "\n";
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: completion_lists COMPLETION_SCRIPT\n";
    return 2;
  }
  std::ifstream in(argv[1]);
  if (!in) {
    std::cerr << argv[1] << ": cannot read\n";
    return 1;
  }
  const std::string script = "\n" + std::string(std::istreambuf_iterator<char>(in), {});

  std::set<std::string> known, writable, keys;
  for (const imgtool::Format f : imgtool::known_formats()) known.emplace(imgtool::format_name(f));
  for (const imgtool::Format f : imgtool::writable_formats()) {
    writable.emplace(imgtool::format_name(f));
    for (const std::string& k : imgtool::convert_option_keys(f)) keys.insert(k);
  }
  bool ok = same("_imgtool_formats and known_formats()", script_list(script, "_imgtool_formats"), known);
  ok &= same("_imgtool_writable_formats and writable_formats()",
             script_list(script, "_imgtool_writable_formats"), writable);
  ok &= same("_imgtool_convert_keys and convert_option_keys()", script_list(script, "_imgtool_convert_keys"),
             keys);
  if (ok)
    std::cout << "completion lists: " << known.size() << " formats, " << writable.size() << " writable, "
              << keys.size() << " -o keys, as in the library\n";
  return ok ? 0 : 1;
}
