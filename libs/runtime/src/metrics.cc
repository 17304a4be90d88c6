#include "crm/runtime/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl_view.h"

namespace crm::runtime {
namespace {

using internal::AbslView;

[[noreturn]] void Fatal(std::string_view message) {
  std::fprintf(stderr, "crm::runtime metrics misuse: %.*s\n", static_cast<int>(message.size()),
               message.data());
  std::abort();
}

bool IsValidName(std::string_view name, bool allow_colon) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (allow_colon && c == ':') || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

// Label values: backslash, double quote and newline are escaped.
// HELP text: backslash and newline only.
std::string Escape(std::string_view text, bool quote) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (quote && c == '"') {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

// Shortest text that parses back to the same double, in Go's ParseFloat syntax.
std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buffer[32];
  auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return std::string(buffer, result.ptr);
}

// Canonical series key and the label part of a sample line: a="1",b="2".
std::string LabelKey(absl::string_view name, Labels labels) {
  std::sort(labels.begin(), labels.end());
  for (size_t i = 0; i < labels.size(); ++i) {
    const std::string& label = labels[i].first;
    if (!IsValidName(label, /*allow_colon=*/false) || label.starts_with("__")) {
      Fatal(absl::StrCat(name, ": invalid label name \"", label, "\""));
    }
    if (i > 0 && labels[i - 1].first == label) {
      Fatal(absl::StrCat(name, ": duplicate label \"", label, "\""));
    }
  }
  return absl::StrJoin(labels, ",", [](std::string* out, const auto& label) {
    absl::StrAppend(out, label.first, "=\"", Escape(label.second, /*quote=*/true), "\"");
  });
}

// name{labels} value, with `extra` (already rendered) appended to the labels.
void AppendSample(std::string* out, absl::string_view name, absl::string_view suffix,
                  absl::string_view labels, absl::string_view extra, absl::string_view value) {
  absl::StrAppend(out, name, suffix);
  if (!labels.empty() || !extra.empty()) {
    absl::StrAppend(out, "{", labels, !labels.empty() && !extra.empty() ? "," : "", extra, "}");
  }
  absl::StrAppend(out, " ", value, "\n");
}

}  // namespace

Histogram::Histogram(std::vector<double> upper_bounds)
    : upper_bounds_(std::move(upper_bounds)),
      counts_(new std::atomic<uint64_t>[upper_bounds_.size() + 1]) {
  for (size_t i = 0; i < upper_bounds_.size(); ++i) {
    if (!std::isfinite(upper_bounds_[i]) || (i > 0 && upper_bounds_[i] <= upper_bounds_[i - 1])) {
      Fatal("histogram bounds must be finite and strictly ascending");
    }
  }
  for (size_t i = 0; i <= upper_bounds_.size(); ++i) counts_[i].store(0);
}

void Histogram::Observe(double value) {
  // Buckets are "less or equal": the first bound >= value; past the end is +Inf.
  size_t bucket =
      std::lower_bound(upper_bounds_.begin(), upper_bounds_.end(), value) - upper_bounds_.begin();
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

std::vector<uint64_t> Histogram::BucketCounts() const {
  std::vector<uint64_t> counts(upper_bounds_.size() + 1);
  for (size_t i = 0; i < counts.size(); ++i) counts[i] = counts_[i].load(std::memory_order_relaxed);
  return counts;
}

std::vector<double> DefaultLatencyBuckets() {
  return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

CallbackGauge::CallbackGauge(CallbackGauge&& other) noexcept { *this = std::move(other); }

CallbackGauge& CallbackGauge::operator=(CallbackGauge&& other) noexcept {
  if (this != &other) {
    Reset();
    registry_ = std::exchange(other.registry_, nullptr);
    name_ = std::move(other.name_);
    key_ = std::move(other.key_);
    id_ = other.id_;
  }
  return *this;
}

CallbackGauge::~CallbackGauge() { Reset(); }

void CallbackGauge::Reset() {
  if (registry_ != nullptr) registry_->RemoveCallback(name_, key_, id_);
  registry_ = nullptr;
}

MetricsRegistry& MetricsRegistry::Default() {
  static MetricsRegistry* const registry = new MetricsRegistry;  // Never destroyed.
  return *registry;
}

MetricsRegistry::Series& MetricsRegistry::SeriesFor(std::string_view name, std::string_view help,
                                                    Type type, const Labels& labels,
                                                    std::string* key) {
  if (!IsValidName(name, /*allow_colon=*/true)) {
    Fatal(absl::StrCat("invalid metric name \"", AbslView(name), "\""));
  }
  *key = LabelKey(AbslView(name), labels);
  auto it = families_.find(name);
  if (it == families_.end()) {
    it = families_.emplace(std::string(name), Family{type, std::string(help), {}, {}}).first;
  } else if (it->second.type != type) {
    Fatal(absl::StrCat(AbslView(name), " is already registered with another type"));
  }
  return it->second.series[*key];
}

Counter& MetricsRegistry::GetCounter(std::string_view name, std::string_view help,
                                     const Labels& labels) {
  absl::MutexLock lock(&mu_);
  std::string key;
  Series& series = SeriesFor(name, help, Type::kCounter, labels, &key);
  if (series.counter == nullptr) series.counter = std::make_unique<Counter>();
  return *series.counter;
}

Gauge& MetricsRegistry::GetGauge(std::string_view name, std::string_view help,
                                 const Labels& labels) {
  absl::MutexLock lock(&mu_);
  std::string key;
  Series& series = SeriesFor(name, help, Type::kGauge, labels, &key);
  if (series.callback)
    Fatal(absl::StrCat(AbslView(name), "{", key, "} is already a callback gauge"));
  if (series.gauge == nullptr) series.gauge = std::make_unique<Gauge>();
  return *series.gauge;
}

Histogram& MetricsRegistry::GetHistogram(std::string_view name, std::string_view help,
                                         const Labels& labels, std::vector<double> upper_bounds) {
  for (const auto& label : labels) {
    if (label.first == "le")
      Fatal(absl::StrCat(AbslView(name), ": histograms reserve the label \"le\""));
  }
  absl::MutexLock lock(&mu_);
  std::string key;
  Series& series = SeriesFor(name, help, Type::kHistogram, labels, &key);
  if (series.histogram == nullptr) {
    Family& family = families_.find(name)->second;
    if (family.series.size() == 1) family.upper_bounds = std::move(upper_bounds);
    series.histogram = std::make_unique<Histogram>(family.upper_bounds);
  }
  return *series.histogram;
}

CallbackGauge MetricsRegistry::AddCallbackGauge(std::string_view name, std::string_view help,
                                                const Labels& labels,
                                                std::function<double()> value) {
  absl::MutexLock lock(&mu_);
  std::string key;
  Series& series = SeriesFor(name, help, Type::kGauge, labels, &key);
  if (series.gauge != nullptr)
    Fatal(absl::StrCat(AbslView(name), "{", key, "} is already a plain gauge"));
  series.callback = std::move(value);
  series.callback_id = next_callback_id_++;
  return CallbackGauge(this, std::string(name), std::move(key), series.callback_id);
}

void MetricsRegistry::RemoveCallback(const std::string& name, const std::string& key, uint64_t id) {
  absl::MutexLock lock(&mu_);
  auto family = families_.find(name);
  if (family == families_.end()) return;
  auto series = family->second.series.find(key);
  if (series == family->second.series.end() || series->second.callback_id != id) return;
  family->second.series.erase(series);
  if (family->second.series.empty()) families_.erase(family);
}

std::string MetricsRegistry::RenderPrometheusText() const {
  absl::MutexLock lock(&mu_);
  std::string out;
  for (const auto& [name, family] : families_) {
    static constexpr const char* kTypeNames[] = {"counter", "gauge", "histogram"};
    absl::StrAppend(&out, "# HELP ", name, " ", Escape(family.help, /*quote=*/false), "\n",
                    "# TYPE ", name, " ", kTypeNames[static_cast<int>(family.type)], "\n");
    for (const auto& [labels, series] : family.series) {
      switch (family.type) {
        case Type::kCounter:
          AppendSample(&out, name, "", labels, "", absl::StrCat(series.counter->Value()));
          break;
        case Type::kGauge:
          AppendSample(&out, name, "", labels, "",
                       FormatValue(series.callback ? series.callback() : series.gauge->Value()));
          break;
        case Type::kHistogram: {
          const Histogram& histogram = *series.histogram;
          std::vector<uint64_t> counts = histogram.BucketCounts();
          uint64_t cumulative = 0;
          for (size_t i = 0; i < counts.size(); ++i) {
            cumulative += counts[i];
            std::string le = i < histogram.upper_bounds().size()
                                 ? FormatValue(histogram.upper_bounds()[i])
                                 : std::string("+Inf");
            AppendSample(&out, name, "_bucket", labels, absl::StrCat("le=\"", le, "\""),
                         absl::StrCat(cumulative));
          }
          AppendSample(&out, name, "_sum", labels, "", FormatValue(histogram.Sum()));
          AppendSample(&out, name, "_count", labels, "", absl::StrCat(cumulative));
          break;
        }
      }
    }
  }
  return out;
}

}  // namespace crm::runtime
