// Conversions between absl::Time and google.protobuf.Timestamp, in one place.
//
//   *event.mutable_occurred_at() = crm::ToProtoTimestamp(clock.Now());
//   absl::Time at = crm::FromProtoTimestamp(event.occurred_at());
#pragma once

#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"

namespace crm {

// Whole seconds plus non-negative nanoseconds (also before 1970).
inline google::protobuf::Timestamp ToProtoTimestamp(absl::Time time) {
  google::protobuf::Timestamp out;
  const int64_t seconds = absl::ToUnixSeconds(time);  // rounds towards the past
  out.set_seconds(seconds);
  out.set_nanos(
      static_cast<int32_t>(absl::ToInt64Nanoseconds(time - absl::FromUnixSeconds(seconds))));
  return out;
}

inline absl::Time FromProtoTimestamp(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

}  // namespace crm
