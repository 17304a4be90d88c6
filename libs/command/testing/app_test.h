// The fixture of every service's app tests: a real event store in a temporary
// directory, a fake clock, the command pipeline over them and the app built on
// it, reopened as after a restart; app methods called as the gRPC adapter calls
// them, and waited for.
//
//   class TicketAppTest : public command::testing::AppTest<TicketApp> {
//    protected:
//     TicketAppTest() : AppTest(kMonday9) {}
//     absl::StatusOr<std::unique_ptr<TicketApp>> MakeApp(command::Pipeline& p) override {
//       return TicketApp::Create({.pipeline = &p});
//     }
//   };
//   TEST_F(TicketAppTest, Opens) {
//     auto r = Call(&TicketApp::OpenTicket, who, request);   // absl::StatusOr<Response>
//     Open();                                                // a restart
//   }
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/testing/fake_clock.h"
#include "common/testing/temp_dir.h"
#include "crm/command/pipeline.h"
#include "crm/command/serve.h"
#include "crm/eventstore/event_store.h"
#include "gtest/gtest.h"

namespace crm::command::testing {

template <typename App>
class AppTest : public ::testing::Test {
 protected:
  explicit AppTest(absl::Time start) : clock_(start) {}

  // Builds the app over the pipeline (at the start, and again after a restart).
  virtual absl::StatusOr<std::unique_ptr<App>> MakeApp(Pipeline& pipeline) = 0;

  void SetUp() override { Open(); }

  // Opens (again, after a restart) the store in dir_/name, the pipeline and the app.
  void Open(const std::string& name = "db") {
    app_.reset();
    pipeline_.reset();
    store_.reset();
    auto store = eventstore::OpenEventStore({.path = dir_.path() + "/" + name, .clock = &clock_});
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    pipeline_ = std::make_unique<Pipeline>(PipelineOptions{.store = store_.get(), .clock = &clock_});
    auto app = MakeApp(*pipeline_);
    ASSERT_TRUE(app.ok()) << app.status();
    app_ = *std::move(app);
  }

  // The rows of `projections`, by projection.
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> Rows(
      const std::vector<std::string>& projections) {
    std::map<std::string, std::vector<std::pair<std::string, std::string>>> out;
    for (const std::string& p : projections) {
      auto rows = store_->ScanProjection(p, "", "", SIZE_MAX);
      EXPECT_TRUE(rows.ok()) << rows.status();
      if (rows.ok()) out[p] = *std::move(rows);
    }
    return out;
  }

  // --rebuild_projections gives exactly the rows the live commands wrote.
  void ExpectRebuildReproducesTheRows(const eventstore::ProjectionSetProjector& projector,
                                      const std::vector<std::string>& targets) {
    const auto live = Rows(targets);
    size_t rows = 0;
    for (const auto& [p, r] : live) rows += r.size();
    EXPECT_GT(rows, 0u) << "nothing to rebuild";
    auto replayed = store_->RebuildProjections(projector, targets);
    ASSERT_TRUE(replayed.ok()) << replayed.status();
    EXPECT_EQ(*replayed, store_->LastPosition());
    EXPECT_EQ(Rows(targets), live);
    EXPECT_TRUE(store_->InterruptedRebuild()->empty());
  }

  // Runs an app method (a write or a read) and waits for its answer.
  template <typename Method, typename Req>
  auto Call(Method method, const auth::Principal& who, const Req& req) {
    return Await(*app_, method, who, req);
  }

  crm::testing::TempDir dir_;
  crm::testing::FakeClock clock_;
  std::unique_ptr<eventstore::EventStore> store_;
  std::unique_ptr<Pipeline> pipeline_;
  std::unique_ptr<App> app_;
};

}  // namespace crm::command::testing
