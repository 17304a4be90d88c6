#include "crm/runtime/metrics.h"

#include <cmath>
#include <limits>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace crm::runtime {
namespace {

using ::testing::HasSubstr;

TEST(RuntimeMetricsTest, RendersExactExpositionFormat) {
  MetricsRegistry registry;
  registry.GetCounter("crm_requests_total", "Requests.", {{"method", "Get"}, {"code", "OK"}})
      .Inc(3);
  registry.GetCounter("crm_requests_total", "ignored", {{"code", "OK"}, {"method", "Add"}}).Inc();
  registry.GetGauge("crm_temperature", "Line one\nback\\slash.").Set(-1.5);
  Histogram& latency =
      registry.GetHistogram("crm_latency_seconds", "Latency.", {{"op", "x"}}, {0.5, 1});
  latency.Observe(0.25);
  latency.Observe(0.5);  // Bounds are inclusive.
  latency.Observe(0.75);
  latency.Observe(8);
  registry.GetCounter("crm_escaped_total", "Escapes.", {{"value", "a\"b\\c\nd"}});

  EXPECT_EQ(registry.RenderPrometheusText(),
            "# HELP crm_escaped_total Escapes.\n"
            "# TYPE crm_escaped_total counter\n"
            "crm_escaped_total{value=\"a\\\"b\\\\c\\nd\"} 0\n"
            "# HELP crm_latency_seconds Latency.\n"
            "# TYPE crm_latency_seconds histogram\n"
            "crm_latency_seconds_bucket{op=\"x\",le=\"0.5\"} 2\n"
            "crm_latency_seconds_bucket{op=\"x\",le=\"1\"} 3\n"
            "crm_latency_seconds_bucket{op=\"x\",le=\"+Inf\"} 4\n"
            "crm_latency_seconds_sum{op=\"x\"} 9.5\n"
            "crm_latency_seconds_count{op=\"x\"} 4\n"
            "# HELP crm_requests_total Requests.\n"
            "# TYPE crm_requests_total counter\n"
            "crm_requests_total{code=\"OK\",method=\"Add\"} 1\n"
            "crm_requests_total{code=\"OK\",method=\"Get\"} 3\n"
            "# HELP crm_temperature Line one\\nback\\\\slash.\n"
            "# TYPE crm_temperature gauge\n"
            "crm_temperature -1.5\n");
}

TEST(RuntimeMetricsTest, SameNameAndLabelsIsTheSameMetric) {
  MetricsRegistry registry;
  Counter& a = registry.GetCounter("c_total", "C.", {{"x", "1"}, {"y", "2"}});
  Counter& b = registry.GetCounter("c_total", "C.", {{"y", "2"}, {"x", "1"}});
  Counter& other = registry.GetCounter("c_total", "C.", {{"x", "1"}, {"y", "3"}});
  EXPECT_EQ(&a, &b);
  EXPECT_NE(&a, &other);
  Gauge& g = registry.GetGauge("g", "G.");
  g.Set(2);
  g.Add(0.25);
  EXPECT_EQ(&g, &registry.GetGauge("g", "G."));
  EXPECT_EQ(g.Value(), 2.25);
}

TEST(RuntimeMetricsTest, HistogramWithoutLabelsAndDefaultBuckets) {
  MetricsRegistry registry;
  registry.GetHistogram("h_seconds", "H.").Observe(0.003);
  std::string text = registry.RenderPrometheusText();
  EXPECT_THAT(text, HasSubstr("h_seconds_bucket{le=\"0.005\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("h_seconds_bucket{le=\"10\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("h_seconds_bucket{le=\"+Inf\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("h_seconds_sum 0.003\nh_seconds_count 1\n"));
}

TEST(RuntimeMetricsTest, CallbackGaugeIsReadAtScrapeAndRemovedWithItsHandle) {
  MetricsRegistry registry;
  double backlog = 5;
  {
    CallbackGauge handle = registry.AddCallbackGauge("crm_outbox_backlog", "Backlog.",
                                                     {{"topic", "t"}}, [&] { return backlog; });
    EXPECT_THAT(registry.RenderPrometheusText(), HasSubstr("crm_outbox_backlog{topic=\"t\"} 5\n"));
    backlog = 7;
    CallbackGauge moved = std::move(handle);
    EXPECT_THAT(registry.RenderPrometheusText(), HasSubstr("crm_outbox_backlog{topic=\"t\"} 7\n"));
  }
  EXPECT_EQ(registry.RenderPrometheusText(), "");
}

TEST(RuntimeMetricsTest, ReplacedCallbackIgnoresTheOldHandle) {
  MetricsRegistry registry;
  CallbackGauge first = registry.AddCallbackGauge("g", "G.", {}, [] { return 1.0; });
  CallbackGauge second = registry.AddCallbackGauge("g", "G.", {}, [] { return 2.0; });
  first = CallbackGauge();  // Unregisters nothing: the series now belongs to `second`.
  EXPECT_EQ(registry.RenderPrometheusText(), "# HELP g G.\n# TYPE g gauge\ng 2\n");
}

TEST(RuntimeMetricsTest, SpecialValues) {
  MetricsRegistry registry;
  registry.GetGauge("a", "A.").Set(std::numeric_limits<double>::infinity());
  registry.GetGauge("b", "B.").Set(std::nan(""));
  registry.GetGauge("c", "C.").Set(1e-7);
  std::string text = registry.RenderPrometheusText();
  EXPECT_THAT(text, HasSubstr("\na +Inf\n"));
  EXPECT_THAT(text, HasSubstr("\nb NaN\n"));
  EXPECT_THAT(text, HasSubstr("\nc 1e-07\n"));
}

TEST(RuntimeMetricsTest, ConcurrentIncrementsAreAllCounted) {
  MetricsRegistry registry;
  Counter& counter = registry.GetCounter("n_total", "N.");
  Histogram& histogram = registry.GetHistogram("h", "H.", {}, {1});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        counter.Inc();
        histogram.Observe(0.5);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(counter.Value(), 40000u);
  EXPECT_EQ(histogram.BucketCounts(), (std::vector<uint64_t>{40000, 0}));
  EXPECT_EQ(histogram.Sum(), 20000);
}

TEST(RuntimeMetricsDeathTest, MisuseAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  MetricsRegistry registry;
  registry.GetCounter("x_total", "X.");
  EXPECT_DEATH(registry.GetGauge("x_total", "X."), "another type");
  EXPECT_DEATH(registry.GetCounter("bad name", "X."), "invalid metric name");
  EXPECT_DEATH(registry.GetCounter("y_total", "Y.", {{"__reserved", "1"}}), "invalid label name");
  EXPECT_DEATH(registry.GetHistogram("z", "Z.", {{"le", "1"}}), "le");
}

}  // namespace
}  // namespace crm::runtime
