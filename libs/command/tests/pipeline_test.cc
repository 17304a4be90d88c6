// The command pipeline on a real event store, with a small aggregate of its own
// (a note owned by its writer): bounds, access before replay, scoped command ids,
// replays, expected versions, races decided again, the event size limit.
#include "crm/command/pipeline.h"

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "common/testing/fake_clock.h"
#include "common/testing/temp_dir.h"
#include "crm/command/limits.h"
#include "crm/command/testing/v1/notes.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace crm::command {
namespace {

namespace tv1 = ::crm::command::testing::v1;
using ::testing::HasSubstr;
using ::testing::SizeIs;
using Code = absl::StatusCode;

constexpr char kNotes[] = "notes";

const Aggregate<tv1::Note, tv1::NoteEvent> kNote{
    .name = "note",
    .stream_prefix = "note-",
    .state_projection = kNotes,
    .apply =
        [](tv1::Note& s, const tv1::NoteEvent& e, const domain::EventMeta& m) {
          s.set_note_id(e.note_id());
          s.set_customer_id(e.customer_id());
          if (e.has_written()) {
            s.set_owner(e.written().owner());
            s.set_text(e.written().text());
            *s.mutable_tags() = e.written().tags();
          }
          if (e.has_edited()) s.set_text(e.edited().text());
          s.set_version(m.version);
        },
    .event_type =
        [](const tv1::NoteEvent& e) {
          return std::string(e.has_written() ? "crm.command.testing.v1.Written"
                                             : "crm.command.testing.v1.Edited");
        },
    .partition_key = [](const tv1::NoteEvent& e) { return e.customer_id(); },
    .rows = [](const tv1::Note&, const tv1::Note& after, const std::vector<tv1::NoteEvent>&,
               absl::Time) {
      return std::vector<eventstore::ProjectionWrite>{
          eventstore::ProjectionWrite::Put(kNotes, after.note_id(), after.SerializeAsString())};
    }};

using NoteTarget = Target<tv1::Note>;

void Respond(const NoteTarget& t, const Outcome<tv1::Note, tv1::NoteEvent>& o,
             tv1::WriteResponse& r) {
  r.set_note_id(t.id);
  FillWrite(o, r);
}

class PipelineTest : public ::testing::Test {
 protected:
  PipelineTest() { Open(); }

  void Open(size_t max_event_bytes = 256 << 10) {
    pipeline_.reset();
    store_.reset();
    auto opened = eventstore::OpenEventStore({.path = dir_.path() + "/db", .clock = &clock_});
    ASSERT_TRUE(opened.ok()) << opened.status();
    store_ = std::move(*opened);
    pipeline_ = std::make_unique<Pipeline>(PipelineOptions{
        .store = store_.get(), .clock = &clock_, .limits = {.max_event_bytes = max_event_bytes}});
  }

  absl::StatusOr<tv1::Note> Load(const std::string& id) {
    auto row = store_->GetProjection(kNotes, id);
    if (!row.ok()) return row.status();
    if (!row->has_value()) return absl::NotFoundError(absl::StrCat("note ", id, " not found"));
    tv1::Note note;
    note.ParseFromString(**row);
    return note;
  }

  const Command<Aggregate<tv1::Note, tv1::NoteEvent>, tv1::WriteNoteRequest, tv1::WriteResponse>
      write_{.aggregate = &kNote,
             .rpc = "WriteNote",
             .options = [](const tv1::WriteNoteRequest& r) { return WriteOptions::Of(r.options()); },
             .load = [](const auth::Principal&,
                        const tv1::WriteNoteRequest&) -> absl::StatusOr<NoteTarget> {
               return NoteTarget{.id = NewId()};
             },
             .decide = [](const NoteTarget& t, const tv1::WriteNoteRequest& r,
                          const Decision& d) -> absl::StatusOr<std::vector<tv1::NoteEvent>> {
               if (r.text().empty()) return InvalidField("text", "required");
               tv1::NoteEvent e;
               e.set_note_id(t.id);
               e.set_customer_id(r.customer_id());
               e.mutable_written()->set_owner(d.actor);
               e.mutable_written()->set_text(r.text());
               *e.mutable_written()->mutable_tags() = r.tags();
               return std::vector<tv1::NoteEvent>{e};
             },
             .respond = Respond};

  const Command<Aggregate<tv1::Note, tv1::NoteEvent>, tv1::EditNoteRequest, tv1::WriteResponse>
      edit_{.aggregate = &kNote,
            .rpc = "EditNote",
            .options = [](const tv1::EditNoteRequest& r) { return WriteOptions::Of(r.options()); },
            .load = [this](const auth::Principal& who,
                           const tv1::EditNoteRequest& r) -> absl::StatusOr<NoteTarget> {
              absl::StatusOr<tv1::Note> note = Load(r.note_id());
              if (!note.ok()) return note.status();
              if (note->owner() != who.subject) {
                return absl::PermissionDeniedError("only the owner edits a note");
              }
              loads_.fetch_add(1);
              return NoteTarget{.id = r.note_id(), .state = *std::move(note)};
            },
            .decide = [](const NoteTarget& t, const tv1::EditNoteRequest& r,
                         const Decision&) -> absl::StatusOr<std::vector<tv1::NoteEvent>> {
              if (r.text().empty()) return InvalidField("text", "required");
              if (r.text() == t.state.text()) return std::vector<tv1::NoteEvent>{};
              tv1::NoteEvent e;
              e.set_note_id(t.id);
              e.set_customer_id(t.state.customer_id());
              e.mutable_edited()->set_text(r.text());
              return std::vector<tv1::NoteEvent>{e};
            },
            .respond = Respond};

  tv1::WriteResponse Write(const auth::Principal& who, const std::string& text,
                           const std::string& command_id = "") {
    tv1::WriteNoteRequest req;
    req.set_customer_id("c-1");
    req.set_text(text);
    req.mutable_options()->set_command_id(command_id);
    auto r = pipeline_->Execute(write_, who, req);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : tv1::WriteResponse();
  }

  absl::StatusOr<tv1::WriteResponse> Edit(const auth::Principal& who, const std::string& id,
                                          const std::string& text,
                                          const std::string& command_id = "",
                                          std::optional<uint64_t> expected = std::nullopt) {
    tv1::EditNoteRequest req;
    req.set_note_id(id);
    req.set_text(text);
    req.mutable_options()->set_command_id(command_id);
    if (expected) req.mutable_options()->set_expected_version(*expected);
    return pipeline_->Execute(edit_, who, req);
  }

  crm::testing::TempDir dir_;
  crm::testing::FakeClock clock_{absl::FromUnixSeconds(1700000000)};
  std::unique_ptr<eventstore::EventStore> store_;
  std::unique_ptr<Pipeline> pipeline_;
  std::atomic<int> loads_{0};
  const auth::Principal alice_{.subject = "alice"};
  const auth::Principal bob_{.subject = "bob"};
};

TEST_F(PipelineTest, AppliesACommandAndAnswersWithVersionAndEventIds) {
  const tv1::WriteResponse w = Write(alice_, "hello");
  EXPECT_EQ(w.version(), 1u);
  ASSERT_THAT(w.event_ids(), SizeIs(1));
  auto events = store_->ReadStream(absl::StrCat("note-", w.note_id()));
  ASSERT_TRUE(events.ok());
  ASSERT_THAT(*events, SizeIs(1));
  EXPECT_EQ((*events)[0].event_id(), w.event_ids(0));
  EXPECT_EQ((*events)[0].actor(), "alice");
  EXPECT_EQ((*events)[0].partition_key(), "c-1");
  EXPECT_EQ(Load(w.note_id())->text(), "hello");

  auto edited = Edit(alice_, w.note_id(), "hello again");
  ASSERT_TRUE(edited.ok()) << edited.status();
  EXPECT_EQ(edited->version(), 2u);
  EXPECT_EQ(Load(w.note_id())->text(), "hello again");
  // A decision without events writes nothing and answers the current version.
  auto same = Edit(alice_, w.note_id(), "hello again");
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->version(), 2u);
  EXPECT_THAT(same->event_ids(), SizeIs(0));
  EXPECT_EQ(store_->LastPosition(), 2u);
}

TEST_F(PipelineTest, ACommandCausedByAnEventNamesItInEveryEnvelope) {
  auto caused = write_;
  caused.rpc = "WriteNoteOnEvent";
  caused.options = [](const tv1::WriteNoteRequest& r) {
    WriteOptions o = WriteOptions::Of(r.options());
    o.causation_id = "event-7";
    o.correlation_id = "chain-1";
    return o;
  };
  tv1::WriteNoteRequest req;
  req.set_customer_id("c-1");
  req.set_text("caused");
  auto w = pipeline_->Execute(caused, alice_, req);
  ASSERT_TRUE(w.ok()) << w.status();
  auto events = store_->ReadStream(absl::StrCat("note-", w->note_id()));
  ASSERT_TRUE(events.ok());
  ASSERT_THAT(*events, SizeIs(1));
  EXPECT_EQ((*events)[0].causation_id(), "event-7");
  EXPECT_EQ((*events)[0].correlation_id(), "chain-1");
  EXPECT_EQ((*events)[0].actor(), "alice");
  // Without a cause the envelope names none.
  const tv1::WriteResponse plain = Write(alice_, "plain");
  events = store_->ReadStream(absl::StrCat("note-", plain.note_id()));
  ASSERT_TRUE(events.ok());
  ASSERT_THAT(*events, SizeIs(1));
  EXPECT_EQ((*events)[0].causation_id(), "");
  EXPECT_EQ((*events)[0].correlation_id(), "");
}

TEST_F(PipelineTest, CommandIdsAreScopedToTheCallerAndTheRpc) {
  const tv1::WriteResponse a = Write(alice_, "from alice", "cmd-1");
  const tv1::WriteResponse b = Write(bob_, "from bob", "cmd-1");
  EXPECT_NE(a.note_id(), b.note_id());
  EXPECT_EQ(Load(a.note_id())->text(), "from alice");
  EXPECT_EQ(Load(b.note_id())->text(), "from bob");
  // The same id for another RPC of the same caller is another command too.
  auto edited = Edit(alice_, a.note_id(), "edited", "cmd-1");
  ASSERT_TRUE(edited.ok()) << edited.status();
  EXPECT_EQ(edited->version(), 2u);
  EXPECT_EQ(store_->LastPosition(), 3u);
}

TEST_F(PipelineTest, AReplayGetsExactlyTheFirstAnswerAlsoAfterARestart) {
  const tv1::WriteResponse first = Write(alice_, "once", "cmd-7");
  const tv1::WriteResponse again = Write(alice_, "once", "cmd-7");
  EXPECT_EQ(again.SerializeAsString(), first.SerializeAsString());
  Open();
  const tv1::WriteResponse after_restart = Write(alice_, "once", "cmd-7");
  EXPECT_EQ(after_restart.SerializeAsString(), first.SerializeAsString());
  EXPECT_EQ(store_->LastPosition(), 1u);

  // A replay of an edit: the first answer, although the state moved on since.
  auto e1 = Edit(alice_, first.note_id(), "two", "edit-1");
  ASSERT_TRUE(e1.ok());
  ASSERT_TRUE(Edit(alice_, first.note_id(), "three").ok());
  auto replay = Edit(alice_, first.note_id(), "two", "edit-1");
  ASSERT_TRUE(replay.ok()) << replay.status();
  EXPECT_EQ(replay->SerializeAsString(), e1->SerializeAsString());
  EXPECT_EQ(Load(first.note_id())->text(), "three");
}

TEST_F(PipelineTest, AnUnchangedDecisionWithACommandIdIsRecordedToo) {
  const tv1::WriteResponse w = Write(alice_, "same");
  auto unchanged = Edit(alice_, w.note_id(), "same", "noop-1");
  ASSERT_TRUE(unchanged.ok()) << unchanged.status();
  EXPECT_EQ(unchanged->version(), 1u);
  ASSERT_TRUE(Edit(alice_, w.note_id(), "different").ok());
  // The state changed, yet the replay answers what the first attempt answered.
  auto replay = Edit(alice_, w.note_id(), "same", "noop-1");
  ASSERT_TRUE(replay.ok()) << replay.status();
  EXPECT_EQ(replay->version(), 1u);
  EXPECT_EQ(Load(w.note_id())->text(), "different");
}

TEST_F(PipelineTest, TheSameIdWithAnotherRequestIsRefused) {
  Write(alice_, "first", "cmd-9");
  tv1::WriteNoteRequest other;
  other.set_customer_id("c-1");
  other.set_text("second");
  other.mutable_options()->set_command_id("cmd-9");
  auto r = pipeline_->Execute(write_, alice_, other);
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(r.status().message(), "options.command_id: ")) << r.status();
  EXPECT_EQ(store_->LastPosition(), 1u);
}

TEST_F(PipelineTest, AccessIsCheckedBeforeAnythingOfAnEarlierAttemptIsRevealed) {
  const tv1::WriteResponse note = Write(alice_, "alice's", "w-1");
  auto first = Edit(alice_, note.note_id(), "secret edit", "e-1");
  ASSERT_TRUE(first.ok());
  // Bob sends alice's command id for alice's note: refused, learning nothing.
  auto r = Edit(bob_, note.note_id(), "secret edit", "e-1");
  EXPECT_EQ(r.status().code(), Code::kPermissionDenied);
  EXPECT_THAT(std::string(r.status().message()), Not(HasSubstr(first->event_ids(0))));
  // A missing note is NOT_FOUND whatever the command id.
  EXPECT_EQ(Edit(alice_, "no-such-note", "x", "e-1").status().code(), Code::kNotFound);
}

TEST_F(PipelineTest, AStaleExpectedVersionIsAbortedNamingTheCurrentOne) {
  const tv1::WriteResponse w = Write(alice_, "v1");
  auto r = Edit(alice_, w.note_id(), "v2", "", 7);
  EXPECT_EQ(r.status().code(), Code::kAborted);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("is at version 1, expected 7"));
  auto ok = Edit(alice_, w.note_id(), "v2", "", 1);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->version(), 2u);
}

TEST_F(PipelineTest, RacingWritesAreDecidedAgainUnlessAVersionWasPinned) {
  const tv1::WriteResponse w = Write(alice_, "start");
  constexpr int kWriters = 24;
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < kWriters; ++i) {
    threads.emplace_back([&, i] {
      if (Edit(alice_, w.note_id(), absl::StrCat("text ", i)).ok()) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kWriters);
  EXPECT_EQ(Load(w.note_id())->version(), 1u + kWriters);

  // Pinned to one version: exactly one wins, the rest are ABORTED.
  const uint64_t at = 1 + kWriters;
  threads.clear();
  std::atomic<int> won{0}, aborted{0};
  for (int i = 0; i < kWriters; ++i) {
    threads.emplace_back([&, i] {
      auto r = Edit(alice_, w.note_id(), absl::StrCat("pinned ", i), "", at);
      if (r.ok()) ++won;
      if (r.status().code() == Code::kAborted) ++aborted;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(won.load(), 1);
  EXPECT_EQ(aborted.load(), kWriters - 1);
}

TEST_F(PipelineTest, ConcurrentRetriesOfOneCommandApplyItOnce) {
  const tv1::WriteResponse w = Write(alice_, "start");
  std::vector<std::thread> threads;
  std::vector<absl::StatusOr<tv1::WriteResponse>> results(16);
  for (size_t i = 0; i < results.size(); ++i) {
    threads.emplace_back([&, i] { results[i] = Edit(alice_, w.note_id(), "once", "same-id"); });
  }
  for (auto& t : threads) t.join();
  for (const auto& r : results) {
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->SerializeAsString(), results[0]->SerializeAsString());
  }
  EXPECT_EQ(Load(w.note_id())->version(), 2u);
}

TEST_F(PipelineTest, AnOversizedEventIsRefusedNamingTheFieldAndNothingIsWritten) {
  Open(/*max_event_bytes=*/4096);
  tv1::WriteNoteRequest req;
  req.set_customer_id("c-1");
  req.set_text("short");
  for (int i = 0; i < 100; ++i) req.add_tags(std::string(100, 't'));
  auto r = pipeline_->Execute(write_, alice_, req);
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(r.status().message(), "tags: makes an event of ")) << r.status();
  EXPECT_EQ(store_->LastPosition(), 0u);
  req.clear_tags();
  EXPECT_TRUE(pipeline_->Execute(write_, alice_, req).ok());
}

TEST_F(PipelineTest, LongIdsAndTooManyItemsAreRefusedBeforeAnyLoad) {
  tv1::EditNoteRequest req;
  req.set_note_id(std::string(257, 'n'));
  req.set_text("x");
  auto r = pipeline_->Execute(edit_, alice_, req);
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "note_id: at most 256 bytes");
  req.set_note_id("n");
  req.mutable_options()->set_command_id(std::string(300, 'c'));
  EXPECT_EQ(pipeline_->Execute(edit_, alice_, req).status().message(),
            "options.command_id: at most 256 bytes");
  EXPECT_EQ(loads_.load(), 0);

  tv1::WriteNoteRequest many;
  many.set_text("x");
  for (int i = 0; i < 1001; ++i) many.add_tags("t");
  EXPECT_EQ(pipeline_->Execute(write_, alice_, many).status().message(),
            "tags: at most 1000 items");
  EXPECT_EQ(store_->LastPosition(), 0u);
}

TEST_F(PipelineTest, RunFinishesOnTheCommittersThreadWithoutBlockingTheCaller) {
  constexpr int kCalls = 64;
  std::mutex mu;
  std::condition_variable cv;
  int finished = 0;
  std::set<std::thread::id> finishing_threads;
  std::vector<tv1::WriteNoteRequest> requests(kCalls);
  std::vector<tv1::WriteResponse> responses(kCalls);
  for (int i = 0; i < kCalls; ++i) {
    requests[i].set_customer_id("c-1");
    requests[i].set_text(absl::StrCat("note ", i));
    pipeline_->Run(write_, alice_, requests[i], &responses[i], [&](absl::Status s) {
      EXPECT_TRUE(s.ok()) << s;
      std::lock_guard<std::mutex> lock(mu);
      ++finished;
      finishing_threads.insert(std::this_thread::get_id());
      cv.notify_all();
    });
  }
  std::unique_lock<std::mutex> lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return finished == kCalls; }));
  EXPECT_FALSE(finishing_threads.contains(std::this_thread::get_id()));
  for (const tv1::WriteResponse& r : responses) EXPECT_EQ(r.version(), 1u);
  EXPECT_EQ(store_->LastPosition(), static_cast<uint64_t>(kCalls));
}

TEST(LimitsTest, LargestFieldDescendsIntoTheElementThatHoldsMostOfIt) {
  tv1::WriteNoteRequest req;
  req.set_text("small");
  req.add_tags("a");
  EXPECT_EQ(LargestField(req), "text");
  req.add_tags(std::string(1000, 'x'));
  EXPECT_EQ(LargestField(req), "tags");
  EXPECT_EQ(LargestField(tv1::WriteNoteRequest()), "");
}

TEST(LimitsTest, ScopedKeysDifferByCallerRpcAndId) {
  std::set<std::string> keys = {
      ScopedCommandKey("A", "alice", "1"), ScopedCommandKey("B", "alice", "1"),
      ScopedCommandKey("A", "bob", "1"),   ScopedCommandKey("A", "alice", "2"),
      // NUL bytes inside names cannot make two triples share a key.
      ScopedCommandKey("A", std::string("al\0", 3), "1")};
  EXPECT_EQ(keys.size(), 5u);
  EXPECT_LE(ScopedCommandKey("A", std::string(5000, 's'), "1").size(), 400u);
  EXPECT_EQ(Fingerprint(tv1::WriteNoteRequest()).size(), 32u);
}

}  // namespace
}  // namespace crm::command
