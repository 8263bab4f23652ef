#include "explain/html.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <optional>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/file_io.h"

namespace transformer::explain {

namespace {

namespace fs = std::filesystem;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char ch) { return std::tolower(ch); });
  return s;
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (size_t at = 0; (at = s.find(from, at)) != std::string::npos; at += to.size()) s.replace(at, from.size(), to);
}

// One start tag, "<script a=b c>", as its name and attributes (names
// lower-cased, values unquoted).
struct Tag {
  size_t begin = 0, end = 0;  // [begin, end) in the page, end just after '>'
  std::vector<std::pair<std::string, std::string>> attributes;

  std::optional<std::string> get(const std::string& name) const {
    for (const auto& [key, value] : attributes)
      if (key == name) return value;
    return std::nullopt;
  }
};

std::optional<Tag> parse_tag(const std::string& page, size_t begin, size_t name_length) {
  Tag tag;
  tag.begin = begin;
  size_t i = begin + 1 + name_length;
  auto space = [&] { while (i < page.size() && std::isspace(static_cast<unsigned char>(page[i]))) ++i; };
  while (true) {
    space();
    if (i >= page.size()) return std::nullopt;
    if (page[i] == '>' || page.compare(i, 2, "/>") == 0) {
      tag.end = page.find('>', i) + 1;
      return tag;
    }
    const size_t name_start = i;
    while (i < page.size() && !std::isspace(static_cast<unsigned char>(page[i])) && page[i] != '=' && page[i] != '>' &&
           page[i] != '/')
      ++i;
    if (i == name_start) ++i;  // a stray '/': skip it
    std::string name = lower(page.substr(name_start, i - name_start)), value;
    space();
    if (i < page.size() && page[i] == '=') {
      ++i;
      space();
      if (i < page.size() && (page[i] == '"' || page[i] == '\'')) {
        const size_t close = page.find(page[i], i + 1);
        if (close == std::string::npos) return std::nullopt;
        value = page.substr(i + 1, close - i - 1);
        i = close + 1;
      } else {
        const size_t start = i;
        while (i < page.size() && !std::isspace(static_cast<unsigned char>(page[i])) && page[i] != '>') ++i;
        value = page.substr(start, i - start);
      }
    }
    tag.attributes.emplace_back(std::move(name), std::move(value));
  }
}

// A path of the page's own files: relative, no scheme, no "//host".
bool is_local(const std::string& url) {
  return !url.empty() && url.find("://") == std::string::npos && url.rfind("//", 0) != 0 &&
         url.rfind("data:", 0) != 0 && url.rfind("blob:", 0) != 0;
}

std::string read_local(const fs::path& web_dir, std::string url, const std::string& page_path) {
  url = url.substr(0, url.find_first_of("?#"));
  while (!url.empty() && url.front() == '/') url.erase(0, 1);  // "/explorer.js": the page's root is web_dir
  const fs::path path = (web_dir / url).lexically_normal();
  const auto inside = std::mismatch(web_dir.begin(), web_dir.end(), path.begin(), path.end());
  if (inside.first != web_dir.end()) throw Error(page_path + ": " + url + " is outside " + web_dir.string());
  if (!fs::is_regular_file(path)) throw Error(page_path + ": references " + url + ", but " + path.string() + " does not exist");
  return read_file(path.string());
}

// Lower-case copy of the page, for case-insensitive searching: tags are
// ASCII, and lower-casing leaves every byte offset where it was.
size_t find_tag(const std::string& page_lower, const std::string& name, size_t from) {
  for (size_t at = from; (at = page_lower.find("<" + name, at)) != std::string::npos; ++at) {
    const size_t after = at + 1 + name.size();
    if (after < page_lower.size() && (std::isspace(static_cast<unsigned char>(page_lower[after])) ||
                                      page_lower[after] == '>' || page_lower[after] == '/'))
      return at;
  }
  return std::string::npos;
}

// Drops `defer` and `async` (meaningless inline) and `src`; keeps the rest.
std::string script_start(const Tag& tag) {
  std::string start = "<script";
  for (const auto& [key, value] : tag.attributes)
    if (key != "src" && key != "defer" && key != "async") start += " " + key + (value.empty() ? "" : "=\"" + value + "\"");
  return start + ">";
}

}  // namespace

std::string script_safe_json(const nlohmann::json& record) {
  // "<" appears only inside JSON strings, where "<\/" and "\u003c" both
  // still mean "</" and "<".
  std::string text = record.dump();
  replace_all(text, "</", "<\\/");
  replace_all(text, "<!--", "\\u003c!--");
  return text;
}

std::string explain_html(const nlohmann::json& record, const std::string& web_dir, const PageData& page_data) {
  const fs::path dir = fs::absolute(web_dir).lexically_normal();
  const std::string page_path = (dir / "index.html").string();
  if (!fs::is_regular_file(page_path)) throw Error(page_path + ": the explorer page is missing (--web names its folder)");
  const std::string page = read_file(page_path);
  const std::string page_lower = lower(page);

  // Walk the page once, copying it to `out` with each local script and
  // style sheet replaced by its contents.
  std::string out;
  std::string deferred;  // deferred scripts run after the page is parsed: they go before </body>
  std::optional<size_t> record_at, first_script;
  size_t copied = 0;
  for (size_t at = 0; at < page.size();) {
    const size_t comment = page.find("<!--", at);
    const size_t script = find_tag(page_lower, "script", at), link = find_tag(page_lower, "link", at);
    const size_t next = std::min({comment, script, link});
    if (next == std::string::npos) break;
    if (next == comment) {  // a commented-out tag stays as it is
      const size_t close = page.find("-->", comment + 4);
      at = close == std::string::npos ? page.size() : close + 3;
      continue;
    }
    const bool is_script = next == script;
    const auto tag = parse_tag(page, next, is_script ? 6 : 4);
    if (!tag) throw Error(page_path + ": unterminated <" + (is_script ? "script" : "link") + "> tag");
    out.append(page, copied, tag->begin - copied);
    if (is_script) {
      const size_t close = page_lower.find("</script", tag->end);
      if (close == std::string::npos) throw Error(page_path + ": <script> without </script>");
      const size_t close_end = page.find('>', close) + 1;
      if (tag->get("id") == "explain-record") {  // the page's placeholder: the record goes here
        record_at = out.size();
      } else if (const auto src = tag->get("src"); src && is_local(*src)) {
        std::string code = read_local(dir, *src, page_path);
        replace_all(code, "</script", "<\\/script");  // inline, a script must not close its own element
        std::string element = script_start(*tag) + "\n" + code + "\n</script>";
        const bool defer = tag->get("defer").has_value() && tag->get("type") != "module";
        if (!first_script && !defer) first_script = out.size();
        (defer ? deferred : out) += element;
      } else {
        if (!first_script) first_script = out.size();
        out.append(page, tag->begin, close_end - tag->begin);
      }
      copied = at = close_end;
      continue;
    }
    const auto rel = tag->get("rel"), href = tag->get("href");
    if (rel && lower(*rel) == "stylesheet" && href && is_local(*href)) {
      std::string css = read_local(dir, *href, page_path);
      replace_all(css, "</style", "<\\/style");
      out += "<style>\n" + css + "\n</style>";
    } else {
      out.append(page, tag->begin, tag->end - tag->begin);
    }
    copied = at = tag->end;
  }
  out.append(page, copied);

  // The record must exist before any script reads it: in the page's
  // placeholder, else before its first script, else at the end of the body
  // (still before the deferred scripts, which go there after it).
  auto body_end = [&] {
    const size_t at = lower(out).rfind("</body");
    return at == std::string::npos ? out.size() : at;
  };
  if (!record_at) record_at = first_script;
  if (!record_at) record_at = body_end();
  std::string data = "<script id=\"explain-record\" type=\"application/json\">" + script_safe_json(record) + "</script>\n";
  for (const auto& [id, value] : {std::pair{"model-info", &page_data.model_info}, std::pair{"compare-record", &page_data.compare}})
    if (!value->is_null())
      data += std::string("<script id=\"") + id + "\" type=\"application/json\">" + script_safe_json(*value) + "</script>\n";
  out.insert(*record_at, data);
  out.insert(body_end(), deferred);
  return out;
}

}  // namespace transformer::explain
