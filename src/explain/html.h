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
// model_info (explain/model_info.h: the model's examples and training log),
// when not null, goes right after the record in
// <script id="model-info" type="application/json">, written the same way.
//
// What is not inlined: remote URLs (left as they are), url(...) inside the
// style sheets, and ES module imports; the explorer page avoids them.
std::string explain_html(const nlohmann::json& record, const std::string& web_dir,
                         const nlohmann::json& model_info = nullptr);

// The record as the text of a <script> element: JSON in which "</" is
// written "<\/" and "<!--" "\u003c!--" (both the same JSON string), so that
// no string inside can end the element.
std::string script_safe_json(const nlohmann::json& record);

}  // namespace transformer::explain
