#include "gateway/multipart.h"

#include <cctype>

namespace voxgate::gateway {
namespace {

// Debian's abseil has its own string_view type, so the few string helpers needed are here.
std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

std::vector<std::string_view> Split(std::string_view s, std::string_view separator) {
  std::vector<std::string_view> pieces;
  while (true) {
    const size_t at = s.find(separator);
    pieces.push_back(s.substr(0, at));
    if (at == std::string_view::npos) return pieces;
    s.remove_prefix(at + separator.size());
  }
}

// The value of `key` in a header parameter list like `form-data; name="file"; filename="a.wav"`.
std::string HeaderParam(std::string_view header, std::string_view key) {
  for (std::string_view param : Split(header, ";")) {
    param = Trim(param);
    const size_t eq = param.find('=');
    if (eq == std::string_view::npos) continue;
    if (!EqualsIgnoreCase(Trim(param.substr(0, eq)), key)) continue;
    std::string_view value = Trim(param.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    return std::string(value);
  }
  return "";
}

absl::Status ParseHeaders(std::string_view headers, MultipartPart& part) {
  bool has_disposition = false;
  for (std::string_view line : Split(headers, "\r\n")) {
    if (line.empty()) continue;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) return absl::InvalidArgumentError("malformed multipart part header");
    const std::string_view name = Trim(line.substr(0, colon));
    const std::string_view value = Trim(line.substr(colon + 1));
    if (EqualsIgnoreCase(name, "content-disposition")) {
      has_disposition = true;
      part.name = HeaderParam(value, "name");
      part.filename = HeaderParam(value, "filename");
    } else if (EqualsIgnoreCase(name, "content-type")) {
      part.content_type = std::string(value);
    }
  }
  if (!has_disposition || part.name.empty()) {
    return absl::InvalidArgumentError("multipart part without a Content-Disposition name");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> MultipartBoundary(std::string_view content_type) {
  const std::string_view type = Trim(content_type.substr(0, content_type.find(';')));
  if (!EqualsIgnoreCase(type, "multipart/form-data")) {
    return absl::InvalidArgumentError("expected Content-Type multipart/form-data, got \"" + std::string(type) + "\"");
  }
  std::string boundary = HeaderParam(content_type, "boundary");
  if (boundary.empty() || boundary.size() > 200) {
    return absl::InvalidArgumentError("multipart/form-data without a valid boundary parameter");
  }
  return boundary;
}

absl::StatusOr<std::vector<MultipartPart>> ParseMultipart(std::string_view body, std::string_view boundary,
                                                          size_t max_parts) {
  const std::string delimiter = "--" + std::string(boundary);
  // The first delimiter may be preceded by a preamble; later ones always follow CRLF.
  size_t pos = body.find(delimiter);
  if (pos == std::string_view::npos) return absl::InvalidArgumentError("multipart body has no boundary line");
  const std::string next_delimiter = "\r\n" + delimiter;
  std::vector<MultipartPart> parts;
  while (true) {
    pos += delimiter.size();
    if (body.substr(pos, 2) == "--") return parts;  // closing delimiter
    if (body.substr(pos, 2) != "\r\n") return absl::InvalidArgumentError("malformed multipart boundary line");
    pos += 2;
    const size_t headers_end = body.find("\r\n\r\n", pos);
    if (headers_end == std::string_view::npos) return absl::InvalidArgumentError("multipart part headers are truncated");
    MultipartPart part;
    if (auto s = ParseHeaders(body.substr(pos, headers_end - pos), part); !s.ok()) return s;
    const size_t data_start = headers_end + 4;
    const size_t data_end = body.find(next_delimiter, data_start);
    if (data_end == std::string_view::npos) {
      return absl::InvalidArgumentError("multipart body is truncated (no closing boundary)");
    }
    part.data = body.substr(data_start, data_end - data_start);
    if (parts.size() == max_parts) return absl::InvalidArgumentError("too many multipart parts");
    parts.push_back(std::move(part));
    pos = data_end + 2;
  }
}

}  // namespace voxgate::gateway
