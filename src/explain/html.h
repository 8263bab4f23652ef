// The explain record inside the explorer page, as one self-contained HTML
// file that works offline, opened straight from disk with no server.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace transformer::explain {

// Reads web_dir/index.html, inlines the local scripts (<script src>) and
// style sheets (<link rel="stylesheet" href>) it references, and puts the
// record in <script id="explain-record" type="application/json">, replacing
// an element with that id if the page has one, otherwise placing it before
// the page's first script. A missing page or referenced file is an Error
// naming it.
//
// What the page carries besides the record, each (when not null) in a
// <script type="application/json"> right after it, written the same way.
struct PageData {
  nlohmann::json model_info;  // id "model-info": the model's examples, training log, probe snapshots (model_info.h)
  nlohmann::json compare;     // id "compare-record": {"a": label, "b": label, "record": the second record}
};

// What is not inlined: remote URLs (left as they are), url(...) inside the
// style sheets, and ES module imports; the explorer page avoids them.
std::string explain_html(const nlohmann::json& record, const std::string& web_dir, const PageData& data = {});

// The record as the text of a <script> element: JSON in which "</" is
// written "<\/" and "<!--" "\u003c!--" (both the same JSON string), so that
// no string inside can end the element.
std::string script_safe_json(const nlohmann::json& record);

}  // namespace transformer::explain
