// Reading one series from a running service's admin port (/metrics), for
// end-to-end tests. Link PkgConfig::HTTPLIB.
#pragma once

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "httplib.h"

namespace crm::testing {

// The value of `series` (name plus labels exactly as rendered, e.g.
// `crm_revisit_scans_total` or `crm_x{group="g"}`), or -1 when the scrape fails or
// the series is not there yet.
inline double ScrapeMetric(const std::string& admin_address, const std::string& series) {
  httplib::Client client("http://" + admin_address);
  auto res = client.Get("/metrics");
  if (!res || res->status != 200) return -1;
  for (absl::string_view line : absl::StrSplit(res->body, '\n')) {
    if (absl::StartsWith(line, series + " ")) {
      double v = 0;
      if (absl::SimpleAtod(line.substr(series.size() + 1), &v)) return v;
    }
  }
  return -1;
}

}  // namespace crm::testing
