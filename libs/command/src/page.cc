#include "crm/command/page.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "crm/command/limits.h"
#include "google/protobuf/descriptor.h"
#include "openssl/sha.h"

namespace crm::command {

std::string PageBinding(std::string_view rpc, const google::protobuf::Message& request,
                        const auth::Principal& who) {
  std::unique_ptr<google::protobuf::Message> filters(request.New());
  filters->CopyFrom(request);
  const google::protobuf::Descriptor& descriptor = *filters->GetDescriptor();
  for (const char* paging : {"page_token", "page_size"}) {
    if (const google::protobuf::FieldDescriptor* f = descriptor.FindFieldByName(paging)) {
      filters->GetReflection()->ClearField(filters.get(), f);
    }
  }
  filters->DiscardUnknownFields();
  // Each part length-prefixed: no two (rpc, filters, caller) give the same bytes.
  std::string bound;
  const auto add = [&bound](std::string_view part) {
    absl::StrAppend(&bound, part.size(), ":", std::string(part), ";");
  };
  add(rpc);
  add(descriptor.full_name());
  add(Fingerprint(*filters));
  add(who.subject);
  for (auth::Role role : who.roles) add(auth::RoleName(role));  // a std::set: in order
  add("|");
  add(who.region);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bound.data()), bound.size(), digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof(digest));
}

}  // namespace crm::command
