#include "crm/common/clock.h"

#include "absl/time/clock.h"

namespace crm {
namespace {

class WallClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
};

}  // namespace

const Clock& SystemClock() {
  static const WallClock* clock = new WallClock();
  return *clock;
}

}  // namespace crm
