// Child process of the crash test: appends in a loop from several threads and
// reports every acknowledged append on stdout, until it is killed.
//
//   eventstore_crash_child <db_path> <run_tag> <threads>
//
// Lines (each written with one write(2), so lines never interleave):
//   ack <stream> <first_version> <last_version> <first_position> <last_position>
//       <command_id> <first_event_id>
//   published <position>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "crm/eventstore/event_store.h"

namespace {

void WriteLine(const std::string& line) {
  const std::string out = line + "\n";
  if (write(STDOUT_FILENO, out.data(), out.size()) != static_cast<ssize_t>(out.size())) _exit(3);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace crm::eventstore;
  int threads = 0;
  if (argc != 4 || !absl::SimpleAtoi(argv[3], &threads) || threads <= 0) {
    std::fprintf(stderr, "usage: %s <db_path> <run_tag> <threads>\n", argv[0]);
    return 2;
  }
  const std::string tag = argv[2];
  auto store = OpenEventStore({.path = argv[1]});
  if (!store.ok()) {
    std::fprintf(stderr, "open: %s\n", store.status().ToString().c_str());
    return 1;
  }
  WriteLine("open");

  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (uint64_t i = 0;; ++i) {
        AppendRequest req;
        req.stream_id = absl::StrCat("stream-", (t * 31 + i) % 23);
        req.command_id = absl::StrCat(tag, "-", t, "-", i);
        const int n = 1 + static_cast<int>(i % 3);
        for (int k = 0; k < n; ++k) {
          NewEvent e;
          e.event_type = "crm.test.v1.Appended";
          e.partition_key = req.stream_id;
          e.payload = std::string(100 + k, 'x');
          req.events.push_back(std::move(e));
        }
        req.projection_writes.push_back(
            ProjectionWrite::Put("last_command", req.stream_id, req.command_id));
        auto r = (*store)->Append(req);
        if (!r.ok()) {
          std::fprintf(stderr, "append: %s\n", r.status().ToString().c_str());
          _exit(1);
        }
        WriteLine(absl::StrCat("ack ", r->stream_id, " ", r->first_version, " ", r->last_version,
                               " ", r->first_position, " ", r->last_position, " ",
                               req.command_id, " ", r->event_ids[0]));
      }
    });
  }
  // A relay stand-in: marks part of the outbox published now and then.
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    const uint64_t target = (*store)->LastPosition() * 2 / 3;
    if (target > (*store)->PublishedPosition()) {
      if (absl::Status s = (*store)->MarkPublished(target); !s.ok()) {
        std::fprintf(stderr, "mark: %s\n", s.ToString().c_str());
        _exit(1);
      }
      WriteLine(absl::StrCat("published ", target));
    }
  }
}
