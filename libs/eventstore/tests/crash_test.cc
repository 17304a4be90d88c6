// Crash test with real processes: a child appends in a loop and reports each
// acknowledged append; the parent SIGKILLs it at random moments, several times,
// then reopens the store and checks that nothing acknowledged was lost.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/testing/temp_dir.h"
#include "crm/eventstore/event_store.h"
#include "gtest/gtest.h"

extern char** environ;

namespace crm::eventstore {
namespace {

struct Ack {
  std::string stream;
  uint64_t first_version, last_version, first_position, last_position;
  std::string command_id, first_event_id;
};

struct ChildOutput {
  std::vector<Ack> acks;
  uint64_t max_published = 0;
};

void ParseLine(const std::string& line, ChildOutput& out) {
  std::vector<std::string> f = absl::StrSplit(line, ' ');
  if (f[0] == "published" && f.size() == 2) {
    uint64_t p = 0;
    ASSERT_TRUE(absl::SimpleAtoi(f[1], &p)) << line;
    out.max_published = std::max(out.max_published, p);
  } else if (f[0] == "ack" && f.size() == 8) {
    Ack a;
    a.stream = f[1];
    ASSERT_TRUE(absl::SimpleAtoi(f[2], &a.first_version) &&
                absl::SimpleAtoi(f[3], &a.last_version) &&
                absl::SimpleAtoi(f[4], &a.first_position) &&
                absl::SimpleAtoi(f[5], &a.last_position))
        << line;
    a.command_id = f[6];
    a.first_event_id = f[7];
    out.acks.push_back(a);
  } else {
    ASSERT_EQ(line, "open");
  }
}

// Runs the child until it has acknowledged at least `min_acks` appends and then
// for a further random delay, kills it with SIGKILL and returns what it reported.
ChildOutput RunAndKill(const std::string& db, const std::string& tag, absl::BitGen& rng,
                       size_t min_acks) {
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  std::string path = CRASH_CHILD_PATH;
  std::string threads = "8";
  std::vector<char*> argv = {path.data(), const_cast<char*>(db.c_str()),
                             const_cast<char*>(tag.c_str()), threads.data(), nullptr};
  pid_t pid = 0;
  EXPECT_EQ(posix_spawn(&pid, path.c_str(), &actions, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);

  ChildOutput out;
  std::string buffer;
  auto consume = [&](int timeout_ms) {
    pollfd p{fds[0], POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) return false;
    char chunk[65536];
    ssize_t n = read(fds[0], chunk, sizeof(chunk));
    if (n <= 0) return false;
    buffer.append(chunk, n);
    size_t nl;
    while ((nl = buffer.find('\n')) != std::string::npos) {
      ParseLine(buffer.substr(0, nl), out);
      buffer.erase(0, nl + 1);
    }
    return true;
  };

  const auto start = std::chrono::steady_clock::now();
  const auto give_up = start + std::chrono::seconds(60);
  while (out.acks.size() < min_acks && std::chrono::steady_clock::now() < give_up) consume(100);
  EXPECT_GE(out.acks.size(), min_acks) << "child made no progress";
  const auto kill_at =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(absl::Uniform(rng, 20, 400));
  while (std::chrono::steady_clock::now() < kill_at) consume(5);
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "child ended on its own, status " << status;
  while (consume(0)) {
  }  // lines written before the kill are acknowledged appends too
  close(fds[0]);
  return out;
}

TEST(EventStoreCrashTest, AcknowledgedAppendsSurviveSigkill) {
  crm::testing::TempDir dir;
  const std::string db = dir.path() + "/db";
  const uint32_t seed = absl::Uniform<uint32_t>(absl::BitGen());
  SCOPED_TRACE(absl::StrCat("seed ", seed));
  std::seed_seq seq{seed};
  absl::BitGen rng(seq);

  constexpr int kRounds = 6;
  std::vector<Ack> acks;
  uint64_t max_published = 0;
  for (int round = 0; round < kRounds; ++round) {
    ChildOutput out = RunAndKill(db, absl::StrCat("r", round), rng, /*min_acks=*/50);
    std::printf("round %d: %zu acknowledged appends before SIGKILL\n", round, out.acks.size());
    acks.insert(acks.end(), out.acks.begin(), out.acks.end());
    max_published = std::max(max_published, out.max_published);
  }
  ASSERT_FALSE(acks.empty());

  auto opened = OpenEventStore({.path = db});
  ASSERT_TRUE(opened.ok()) << opened.status();
  EventStore& store = **opened;

  // Every acknowledged append is there, with the versions and positions it was given.
  for (const Ack& a : acks) {
    auto events = store.ReadStream(a.stream, a.first_version, a.last_version - a.first_version + 1);
    ASSERT_TRUE(events.ok());
    ASSERT_EQ(events->size(), a.last_version - a.first_version + 1) << a.command_id << " lost";
    EXPECT_EQ((*events)[0].event_id(), a.first_event_id);
    EXPECT_EQ((*events)[0].global_position(), a.first_position);
    EXPECT_EQ(events->back().global_position(), a.last_position);
    EXPECT_EQ((*events)[0].command_id(), a.command_id);
  }

  // The log is gap-free and each stream's versions run 1..n without duplicates.
  auto all = store.ReadAll(1, SIZE_MAX);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), store.LastPosition());
  std::map<std::string, uint64_t> versions;
  for (size_t i = 0; i < all->size(); ++i) {
    ASSERT_EQ((*all)[i].global_position(), i + 1);
    ASSERT_EQ((*all)[i].stream_version(), ++versions[(*all)[i].stream_id()]);
  }
  for (const auto& [stream, version] : versions) {
    auto events = store.ReadStream(stream);
    ASSERT_EQ(events->size(), version);
    for (size_t i = 0; i < events->size(); ++i) ASSERT_EQ((*events)[i].stream_version(), i + 1);
  }

  // The outbox holds exactly the events after the durable published cursor, and
  // the cursor is at least what the child saw acknowledged.
  EXPECT_GE(store.PublishedPosition(), max_published);
  auto outbox = store.ReadOutbox(0, SIZE_MAX);
  ASSERT_TRUE(outbox.ok());
  ASSERT_EQ(outbox->size(), store.LastPosition() - store.PublishedPosition());
  for (size_t i = 0; i < outbox->size(); ++i) {
    EXPECT_EQ((*outbox)[i].position, store.PublishedPosition() + 1 + i);
  }

  // Command ids survived too: retrying an acknowledged command appends nothing.
  const Ack& some = acks[acks.size() / 2];
  AppendRequest retry;
  retry.stream_id = some.stream;
  retry.command_id = some.command_id;
  retry.events.push_back({.event_type = "crm.test.v1.Appended", .partition_key = "x"});
  auto r = store.Append(retry);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->duplicate);
  EXPECT_EQ(r->first_position, some.first_position);
  EXPECT_EQ(store.ReadAll(1, SIZE_MAX)->size(), all->size());
}

}  // namespace
}  // namespace crm::eventstore
