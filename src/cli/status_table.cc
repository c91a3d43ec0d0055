#include "cli/status_table.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <vector>

namespace voxgate::cli {

absl::StatusOr<std::string> FormatStatusTable(const std::string& status_json) {
  const auto status = nlohmann::json::parse(status_json, nullptr, /*allow_exceptions=*/false);
  if (status.is_discarded() || !status.contains("pools") || !status["pools"].is_array()) {
    return absl::InvalidArgumentError("the server's status is not what voxctl understands: " + status_json.substr(0, 200));
  }
  std::vector<std::vector<std::string>> rows = {{"POOL", "ENGINE", "STATE", "STREAMS", "LAST CHECK"}};
  for (const auto& pool : status["pools"]) {
    const std::string name = pool.value("name", "?");
    for (const auto& e : pool.value("engines", nlohmann::json::array())) {
      rows.push_back({name, e.value("address", "?"), e.value("state", "?"),
                      std::to_string(e.value("outstanding", 0)) + "/" + std::to_string(e.value("capacity", 0)),
                      e.value("last_check", "")});
    }
    if (pool.value("queued", 0) > 0) rows.push_back({name, "(queue)", "waiting", std::to_string(pool.value("queued", 0)), ""});
  }
  std::vector<size_t> widths(rows[0].size(), 0);
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    out += line + "\n";
  }
  return out;
}

}  // namespace voxgate::cli
