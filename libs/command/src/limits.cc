#include "crm/command/limits.h"

#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "crm/common/field_errors.h"
#include "crm/common/v1/bounds.pb.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "openssl/sha.h"

namespace crm::command {
namespace {

using ::google::protobuf::FieldDescriptor;
using ::google::protobuf::Message;
using ::google::protobuf::Reflection;

constexpr absl::string_view kIdNames[] = {"id",     "ids",     "key",      "owner",
                                          "region", "regions", "assignee", "responsible"};
constexpr absl::string_view kIdSuffixes[] = {"_id", "_ids", "_key"};

enum class StringKind { kId, kToken, kText };

StringKind KindOf(const FieldDescriptor& field) {
  if (IsIdField(field)) return StringKind::kId;
  const std::string& name = field.name();
  if (absl::EndsWith(name, "_token")) return StringKind::kToken;
  return StringKind::kText;
}

bool IsString(const FieldDescriptor& field) {
  return field.cpp_type() == FieldDescriptor::CPPTYPE_STRING;
}

size_t MaxBytes(StringKind kind, const Limits& limits) {
  switch (kind) {
    case StringKind::kId:
      return limits.max_id_bytes;
    case StringKind::kToken:
      return limits.max_token_bytes;
    case StringKind::kText:
      return limits.max_string_bytes;
  }
  return limits.max_string_bytes;
}

absl::Status TooLong(StringKind kind, const Limits& limits, const std::string& path) {
  return InvalidField(path, absl::StrCat("at most ", MaxBytes(kind, limits), " bytes"));
}

std::string Join(std::string_view prefix, std::string_view name) {
  std::string out(prefix);
  if (!out.empty()) out += '.';
  out += name;
  return out;
}

// The path of a field is only built when it is needed: for an error, or as the
// prefix of a message field's own fields.
absl::Status Check(const Message& message, const Limits& limits, const std::string& prefix) {
  const Reflection& reflection = *message.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection.ListFields(message, &fields);
  std::string scratch;
  for (const FieldDescriptor* field : fields) {
    const auto path = [&] { return Join(prefix, field->name()); };
    if (field->is_repeated()) {
      const int size = reflection.FieldSize(message, field);
      const size_t max = MaxItems(*field, limits);
      if (static_cast<size_t>(size) > max) {
        return InvalidField(path(), absl::StrCat("at most ", max, " items"));
      }
      if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        const std::string base = path();
        for (int i = 0; i < size; ++i) {
          const absl::Status s =
              Check(reflection.GetRepeatedMessage(message, field, i), limits, Indexed(base, i));
          if (!s.ok()) return s;
        }
      } else if (IsString(*field)) {
        const StringKind kind = KindOf(*field);
        for (int i = 0; i < size; ++i) {
          const size_t bytes =
              reflection.GetRepeatedStringReference(message, field, i, &scratch).size();
          if (bytes > MaxBytes(kind, limits)) return TooLong(kind, limits, Indexed(path(), i));
        }
      }
    } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      const absl::Status s = Check(reflection.GetMessage(message, field), limits, path());
      if (!s.ok()) return s;
    } else if (IsString(*field)) {
      const StringKind kind = KindOf(*field);
      const size_t bytes = reflection.GetStringReference(message, field, &scratch).size();
      if (bytes > MaxBytes(kind, limits)) return TooLong(kind, limits, path());
    }
  }
  return absl::OkStatus();
}

// The encoded size of one element of a field (without its tag).
size_t ElementSize(const Message& message, const FieldDescriptor& field, int index) {
  const Reflection& r = *message.GetReflection();
  std::string scratch;
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return index < 0 ? r.GetMessage(message, &field).ByteSizeLong()
                       : r.GetRepeatedMessage(message, &field, index).ByteSizeLong();
    case FieldDescriptor::CPPTYPE_STRING:
      return index < 0 ? r.GetStringReference(message, &field, &scratch).size()
                       : r.GetRepeatedStringReference(message, &field, index, &scratch).size();
    default:
      return 8;  // a scalar: never the field to blame
  }
}

}  // namespace

bool IsIdField(const FieldDescriptor& field) {
  if (field.type() != FieldDescriptor::TYPE_STRING) return false;
  const std::string& name = field.name();
  for (absl::string_view id : kIdNames) {
    if (name == id) return true;
  }
  for (absl::string_view suffix : kIdSuffixes) {
    if (absl::EndsWith(name, suffix)) return true;
  }
  return field.options().GetExtension(::crm::common::v1::id);
}

size_t MaxItems(const FieldDescriptor& field, const Limits& limits) {
  const int32_t declared = field.options().GetExtension(::crm::common::v1::max_items);
  return declared > 0 ? static_cast<size_t>(declared) : limits.max_repeated;
}

absl::Status CheckBounds(const Message& request, const Limits& limits) {
  return Check(request, limits, "");
}

std::string LargestField(const Message& message) {
  std::string path;
  const Message* current = &message;
  while (true) {
    const Reflection& reflection = *current->GetReflection();
    std::vector<const FieldDescriptor*> fields;
    reflection.ListFields(*current, &fields);
    const FieldDescriptor* largest = nullptr;
    size_t largest_size = 0;
    for (const FieldDescriptor* field : fields) {
      size_t size = 0;
      if (field->is_repeated()) {
        for (int i = 0; i < reflection.FieldSize(*current, field); ++i) {
          size += ElementSize(*current, *field, i);
        }
      } else {
        size = ElementSize(*current, *field, -1);
      }
      if (largest == nullptr || size > largest_size) {
        largest = field;
        largest_size = size;
      }
    }
    if (largest == nullptr) return path;
    path = Join(path, largest->name());
    if (largest->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) return path;
    if (!largest->is_repeated()) {
      current = &reflection.GetMessage(*current, largest);
      continue;
    }
    // Into one element only when it holds most of the field.
    int biggest = 0;
    size_t biggest_size = 0;
    for (int i = 0; i < reflection.FieldSize(*current, largest); ++i) {
      const size_t size = ElementSize(*current, *largest, i);
      if (size > biggest_size) {
        biggest = i;
        biggest_size = size;
      }
    }
    if (biggest_size * 2 <= largest_size) return path;
    path = Indexed(path, biggest);
    current = &reflection.GetRepeatedMessage(*current, largest, biggest);
  }
}

std::string Fingerprint(const Message& request) {
  std::string bytes;
  bytes.reserve(request.ByteSizeLong());  // also caches the sizes serialization needs
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream out(&stream);
    out.SetSerializationDeterministic(true);
    request.SerializeWithCachedSizes(&out);
  }
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof(digest));
}

std::string ScopedCommandKey(std::string_view rpc, std::string_view subject,
                             std::string_view command_id) {
  std::string who(subject);
  if (who.size() > 256) {
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(subject.data()), subject.size(), digest);
    who = absl::StrCat("sha256:", absl::BytesToHexString(absl::string_view(
                                      reinterpret_cast<const char*>(digest), sizeof(digest))));
  }
  // NUL-separated, subject length first: no two (rpc, subject, id) share a key.
  std::string key(rpc);
  key += '\0';
  key += std::to_string(who.size());
  key += ':';
  key += who;
  key += '\0';
  key += command_id;
  return key;
}

absl::StatusOr<size_t> PageSize(int requested, size_t default_size) {
  if (requested == 0) return default_size;
  if (requested < 0 || requested > kMaxPageSize) {
    return absl::InvalidArgumentError(absl::StrCat("page_size: must be 1..", kMaxPageSize));
  }
  return static_cast<size_t>(requested);
}

}  // namespace crm::command
