#include "sluice/base/pii.h"

#include <openssl/rand.h>

#include <algorithm>
#include <vector>

#include "sluice/base/check.h"
#include "sluice/base/digest.h"

namespace sluice {

PiiMasker::PiiMasker(std::string key) : key_(std::move(key)) { SLUICE_CHECK(!key_.empty()) << "an empty PII key"; }

std::string PiiMasker::Mask(std::string_view value) const {
  std::string out(kPiiMaskPrefix);
  out += HexEncode(HmacSha256(key_, value)).substr(0, 16);
  return out;
}

std::string PiiMasker::Scrub(std::string_view text, std::span<const std::string> values) const {
  std::vector<std::string_view> order;
  for (const auto& v : values) {
    if (v.size() >= 4) order.push_back(v);
  }
  if (order.empty()) return std::string(text);
  std::sort(order.begin(), order.end(), [](std::string_view a, std::string_view b) { return a.size() > b.size(); });
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    bool hit = false;
    for (std::string_view v : order) {
      if (text.compare(i, v.size(), v) == 0) {
        out += Mask(v);
        i += v.size();
        hit = true;
        break;
      }
    }
    if (!hit) out += text[i++];
  }
  return out;
}

Result<std::string> NewPiiKey() {
  std::string key(32, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), static_cast<int>(key.size())) != 1) {
    return Status::Internal("no random bytes for a PII key");
  }
  return key;
}

std::string MaskKeepLast4(std::string_view s) {
  // Byte offsets where each character starts.
  std::vector<size_t> starts;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) starts.push_back(i);
  }
  const size_t chars = starts.size();
  if (chars <= 4) return std::string(chars, '*');
  std::string out(chars - 4, '*');
  out += s.substr(starts[chars - 4]);
  return out;
}

}  // namespace sluice
