#include "proto_fields.h"

#include <limits>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "crm/common/status_macros.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/timestamp.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"

namespace crm::crmctl {
namespace {

namespace pb = google::protobuf;

// Debian's Abseil has its own absl::string_view; convert explicitly.
absl::string_view AbslView(std::string_view s) { return absl::string_view(s.data(), s.size()); }

std::string Quote(std::string_view s) { return "'" + std::string(s) + "'"; }

// The parent message of the last element of `path`, and that element's field.
struct Target {
  pb::Message* parent = nullptr;
  const pb::FieldDescriptor* field = nullptr;
};

absl::StatusOr<Target> Resolve(pb::Message& message, std::string_view path) {
  std::vector<std::string> parts = absl::StrSplit(AbslView(path), '.');
  pb::Message* current = &message;
  for (size_t i = 0; i < parts.size(); ++i) {
    const pb::FieldDescriptor* field = current->GetDescriptor()->FindFieldByName(parts[i]);
    if (field == nullptr) {
      return absl::InvalidArgumentError(current->GetDescriptor()->full_name() + " has no field " +
                                        Quote(parts[i]));
    }
    if (i + 1 == parts.size()) return Target{current, field};
    if (field->is_repeated() || field->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE) {
      return absl::InvalidArgumentError("cannot descend into " + field->full_name());
    }
    current = current->GetReflection()->MutableMessage(current, field);
  }
  return absl::InvalidArgumentError("empty field path");
}

bool IsTimestamp(const pb::FieldDescriptor& field) {
  return field.cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE &&
         field.message_type()->full_name() == pb::Timestamp::descriptor()->full_name();
}

absl::StatusOr<pb::Timestamp> ParseTimestamp(std::string_view text) {
  std::string rfc3339(text);
  if (rfc3339.size() == 10) rfc3339 += "T00:00:00Z";  // a date: midnight UTC
  pb::Timestamp ts;
  if (!pb::util::TimeUtil::FromString(rfc3339, &ts)) {
    return absl::InvalidArgumentError(Quote(text) +
                                      " is not an RFC 3339 time (2026-12-31T00:00:00Z) or a date");
  }
  return ts;
}

absl::Status BadValue(const pb::FieldDescriptor& field, std::string_view text,
                      std::string_view want) {
  return absl::InvalidArgumentError(Quote(text) + " is not " + std::string(want) + " (" +
                                    field.name() + ")");
}

// Sets (or, for a repeated field, appends) one value.
absl::Status SetOne(pb::Message& parent, const pb::FieldDescriptor& field, std::string_view text) {
  const pb::Reflection& r = *parent.GetReflection();
  const bool rep = field.is_repeated();
  const absl::string_view t = AbslView(text);
  switch (field.cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_STRING:
      rep ? r.AddString(&parent, &field, std::string(text))
          : r.SetString(&parent, &field, std::string(text));
      return absl::OkStatus();
    case pb::FieldDescriptor::CPPTYPE_INT32: {
      int32_t v;
      if (!absl::SimpleAtoi(t, &v)) return BadValue(field, text, "an integer");
      rep ? r.AddInt32(&parent, &field, v) : r.SetInt32(&parent, &field, v);
      return absl::OkStatus();
    }
    case pb::FieldDescriptor::CPPTYPE_INT64: {
      int64_t v;
      if (!absl::SimpleAtoi(t, &v)) return BadValue(field, text, "an integer");
      rep ? r.AddInt64(&parent, &field, v) : r.SetInt64(&parent, &field, v);
      return absl::OkStatus();
    }
    case pb::FieldDescriptor::CPPTYPE_UINT32: {
      uint32_t v;
      if (!absl::SimpleAtoi(t, &v)) return BadValue(field, text, "a non-negative integer");
      rep ? r.AddUInt32(&parent, &field, v) : r.SetUInt32(&parent, &field, v);
      return absl::OkStatus();
    }
    case pb::FieldDescriptor::CPPTYPE_UINT64: {
      uint64_t v;
      if (!absl::SimpleAtoi(t, &v)) return BadValue(field, text, "a non-negative integer");
      rep ? r.AddUInt64(&parent, &field, v) : r.SetUInt64(&parent, &field, v);
      return absl::OkStatus();
    }
    case pb::FieldDescriptor::CPPTYPE_DOUBLE:
    case pb::FieldDescriptor::CPPTYPE_FLOAT: {
      double v;
      if (!absl::SimpleAtod(t, &v)) return BadValue(field, text, "a number");
      if (field.cpp_type() == pb::FieldDescriptor::CPPTYPE_FLOAT) {
        rep ? r.AddFloat(&parent, &field, static_cast<float>(v))
            : r.SetFloat(&parent, &field, static_cast<float>(v));
      } else {
        rep ? r.AddDouble(&parent, &field, v) : r.SetDouble(&parent, &field, v);
      }
      return absl::OkStatus();
    }
    case pb::FieldDescriptor::CPPTYPE_BOOL: {
      bool v;
      if (!absl::SimpleAtob(t, &v)) return BadValue(field, text, "true or false");
      rep ? r.AddBool(&parent, &field, v) : r.SetBool(&parent, &field, v);
      return absl::OkStatus();
    }
    case pb::FieldDescriptor::CPPTYPE_ENUM: {
      ASSIGN_OR_RETURN(int v, ParseEnumValue(*field.enum_type(), text));
      rep ? r.AddEnumValue(&parent, &field, v) : r.SetEnumValue(&parent, &field, v);
      return absl::OkStatus();
    }
    case pb::FieldDescriptor::CPPTYPE_MESSAGE: {
      if (!IsTimestamp(field)) {
        return absl::InvalidArgumentError(field.full_name() +
                                          " is a message; set its fields one by one or use --json");
      }
      ASSIGN_OR_RETURN(pb::Timestamp ts, ParseTimestamp(text));
      (rep ? r.AddMessage(&parent, &field) : r.MutableMessage(&parent, &field))->CopyFrom(ts);
      return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError("unsupported field type of " + field.full_name());
}

// "LIFECYCLE_" for Lifecycle: the name of the value 0 without "UNSPECIFIED";
// for an enum whose value 0 is named otherwise (OPPORTUNITY_STATUS_ANY), the
// part up to the last '_' that every value's name starts with
// ("OPPORTUNITY_STATUS_").
std::string EnumPrefix(const pb::EnumDescriptor& type) {
  const pb::EnumValueDescriptor* zero = type.FindValueByNumber(0);
  if (zero != nullptr && absl::EndsWith(zero->name(), "UNSPECIFIED")) {
    return zero->name().substr(0, zero->name().size() - std::string_view("UNSPECIFIED").size());
  }
  if (type.value_count() < 2) return "";
  std::string common = type.value(0)->name();
  for (int i = 1; i < type.value_count(); ++i) {
    const std::string& name = type.value(i)->name();
    size_t n = 0;
    while (n < common.size() && n < name.size() && common[n] == name[n]) ++n;
    common.resize(n);
  }
  const size_t underscore = common.rfind('_');
  return underscore == std::string::npos ? "" : common.substr(0, underscore + 1);
}

}  // namespace

absl::Status SetField(pb::Message& message, std::string_view path, std::string_view value) {
  ASSIGN_OR_RETURN(Target target, Resolve(message, path));
  if (target.field->is_repeated()) {
    return SetRepeatedField(message, path, {std::string(value)});
  }
  return SetOne(*target.parent, *target.field, value);
}

absl::Status SetRepeatedField(pb::Message& message, std::string_view path,
                              const std::vector<std::string>& values) {
  ASSIGN_OR_RETURN(Target target, Resolve(message, path));
  if (!target.field->is_repeated()) {
    return absl::InvalidArgumentError(target.field->full_name() + " is not a list");
  }
  target.parent->GetReflection()->ClearField(target.parent, target.field);
  for (const std::string& value : values) {
    RETURN_IF_ERROR(SetOne(*target.parent, *target.field, value));
  }
  return absl::OkStatus();
}

absl::Status SetRepeatedMessages(
    pb::Message& message, std::string_view path,
    const std::vector<std::vector<std::pair<std::string, std::string>>>& elements) {
  ASSIGN_OR_RETURN(Target target, Resolve(message, path));
  if (!target.field->is_repeated() ||
      target.field->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE ||
      IsTimestamp(*target.field)) {
    return absl::InvalidArgumentError(target.field->full_name() + " is not a list of messages");
  }
  const pb::Reflection& r = *target.parent->GetReflection();
  r.ClearField(target.parent, target.field);
  for (const auto& element : elements) {
    pb::Message* added = r.AddMessage(target.parent, target.field);
    for (const auto& [sub_path, value] : element) {
      RETURN_IF_ERROR(SetField(*added, sub_path, value));
    }
  }
  return absl::OkStatus();
}

absl::Status AddUniqueString(pb::Message& message, std::string_view path,
                             const std::string& value) {
  ASSIGN_OR_RETURN(Target target, Resolve(message, path));
  if (!target.field->is_repeated() ||
      target.field->cpp_type() != pb::FieldDescriptor::CPPTYPE_STRING) {
    return absl::InvalidArgumentError(target.field->full_name() + " is not a list of strings");
  }
  const pb::Reflection& r = *target.parent->GetReflection();
  for (int i = 0; i < r.FieldSize(*target.parent, target.field); ++i) {
    if (r.GetRepeatedString(*target.parent, target.field, i) == value) return absl::OkStatus();
  }
  r.AddString(target.parent, target.field, value);
  return absl::OkStatus();
}

bool FieldIsSet(const pb::Message& message, std::string_view path) {
  const pb::Message* current = &message;
  std::vector<std::string> parts = absl::StrSplit(AbslView(path), '.');
  for (size_t i = 0; i < parts.size(); ++i) {
    const pb::FieldDescriptor* field = current->GetDescriptor()->FindFieldByName(parts[i]);
    if (field == nullptr) return false;
    const pb::Reflection& r = *current->GetReflection();
    if (field->is_repeated()) return i + 1 == parts.size() && r.FieldSize(*current, field) > 0;
    // For proto3 scalars without presence, HasField means "not the default".
    if (!r.HasField(*current, field)) return false;
    if (i + 1 == parts.size()) return true;
    if (field->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE) return false;
    current = &r.GetMessage(*current, field);
  }
  return false;
}

absl::StatusOr<int> ParseEnumValue(const pb::EnumDescriptor& type, std::string_view text) {
  std::string upper = absl::AsciiStrToUpper(AbslView(text));
  for (char& c : upper) {
    if (c == '-' || c == ' ') c = '_';
  }
  if (const auto* v = type.FindValueByName(upper)) return v->number();
  const std::string prefix = EnumPrefix(type);
  if (!upper.empty()) {
    if (const auto* v = type.FindValueByName(prefix + upper)) return v->number();
    // An unambiguous start of a name: "own" for TRANSACTION_PARTY_OWN_COMPANY.
    const pb::EnumValueDescriptor* match = nullptr;
    int matches = 0;
    for (int i = 0; i < type.value_count(); ++i) {
      if (absl::StartsWith(type.value(i)->name(), prefix + upper)) {
        match = type.value(i);
        ++matches;
      }
    }
    if (matches == 1) return match->number();
  }
  int number;
  if (absl::SimpleAtoi(AbslView(text), &number) && type.FindValueByNumber(number) != nullptr) {
    return number;
  }
  return absl::InvalidArgumentError(Quote(text) + " is not a " + type.name() + "; one of " +
                                    EnumShortNames(type));
}

std::string EnumShortName(const pb::EnumDescriptor& type, int number) {
  const pb::EnumValueDescriptor* value = type.FindValueByNumber(number);
  if (value == nullptr) return std::to_string(number);
  std::string name = value->name();
  const std::string prefix = EnumPrefix(type);
  if (!prefix.empty() && absl::StartsWith(name, prefix)) name = name.substr(prefix.size());
  return absl::AsciiStrToLower(name);
}

std::string EnumShortNames(const pb::EnumDescriptor& type) {
  std::vector<std::string> names;
  for (int i = 0; i < type.value_count(); ++i) {
    if (type.value(i)->number() != 0) names.push_back(EnumShortName(type, type.value(i)->number()));
  }
  return absl::StrJoin(names, "|");
}

absl::StatusOr<int64_t> ParseMajorUnits(std::string_view amount) {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(Quote(amount) + " is not an amount: " + std::string(why));
  };
  std::string_view rest = amount;
  bool negative = false;
  if (!rest.empty() && (rest.front() == '-' || rest.front() == '+')) {
    negative = rest.front() == '-';
    rest.remove_prefix(1);
  }
  std::string_view whole = rest, fraction;
  if (size_t dot = rest.find('.'); dot != std::string_view::npos) {
    whole = rest.substr(0, dot);
    fraction = rest.substr(dot + 1);
  }
  if (whole.empty() && fraction.empty()) return bad("no digits");
  if (fraction.size() > 2) return bad("more than two decimals");
  for (std::string_view part : {whole, fraction}) {
    for (char c : part) {
      if (c < '0' || c > '9') return bad("use digits and one '.', e.g. 1200.50");
    }
  }
  int64_t units = 0;
  if (!whole.empty() && !absl::SimpleAtoi(AbslView(whole), &units)) return bad("too large");
  int64_t cents = 0;
  if (!fraction.empty()) {
    absl::SimpleAtoi(AbslView(fraction), &cents);
    if (fraction.size() == 1) cents *= 10;
  }
  if (units > (std::numeric_limits<int64_t>::max() - cents) / 100) return bad("too large");
  const int64_t minor = units * 100 + cents;
  return negative ? -minor : minor;
}

absl::Status MergeJson(std::string_view json, pb::Message& message) {
  pb::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  std::unique_ptr<pb::Message> parsed(message.New());
  auto status = pb::util::JsonStringToMessage(std::string(json), parsed.get(), options);
  if (!status.ok()) {
    return absl::InvalidArgumentError("--json: " + std::string(status.message()));
  }
  message.MergeFrom(*parsed);
  return absl::OkStatus();
}

std::string ToJson(const pb::Message& message) {
  pb::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string json;
  auto status = pb::util::MessageToJsonString(message, &json, options);
  if (!status.ok()) return R"({"error": "cannot print as JSON"})";
  return json;
}

void PrintFields(const pb::Message& message, std::ostream& out) {
  const pb::Reflection& r = *message.GetReflection();
  std::vector<const pb::FieldDescriptor*> fields;
  r.ListFields(message, &fields);
  for (const pb::FieldDescriptor* field : fields) {
    const bool is_message = field->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE;
    if (field->is_repeated()) {
      const int n = r.FieldSize(message, field);
      if (is_message && !IsTimestamp(*field)) {
        out << field->name() << ": " << n << "\n";
        continue;
      }
      std::vector<std::string> items;
      for (int i = 0; i < n; ++i) {
        switch (field->cpp_type()) {
          case pb::FieldDescriptor::CPPTYPE_STRING:
            items.push_back(r.GetRepeatedString(message, field, i));
            break;
          case pb::FieldDescriptor::CPPTYPE_ENUM:
            items.push_back(
                EnumShortName(*field->enum_type(), r.GetRepeatedEnumValue(message, field, i)));
            break;
          case pb::FieldDescriptor::CPPTYPE_MESSAGE:
            items.push_back(pb::util::TimeUtil::ToString(
                static_cast<const pb::Timestamp&>(r.GetRepeatedMessage(message, field, i))));
            break;
          default: {  // numbers and bools
            std::string text;
            pb::TextFormat::PrintFieldValueToString(message, field, i, &text);
            items.push_back(text);
          }
        }
      }
      out << field->name() << ": " << absl::StrJoin(items, ", ") << "\n";
      continue;
    }
    switch (field->cpp_type()) {
      case pb::FieldDescriptor::CPPTYPE_MESSAGE:
        if (IsTimestamp(*field)) {
          pb::Timestamp ts;
          ts.CopyFrom(r.GetMessage(message, field));
          out << field->name() << ": " << pb::util::TimeUtil::ToString(ts) << "\n";
        } else {
          PrintFields(r.GetMessage(message, field), out);
        }
        break;
      case pb::FieldDescriptor::CPPTYPE_STRING:
        out << field->name() << ": " << r.GetString(message, field) << "\n";
        break;
      case pb::FieldDescriptor::CPPTYPE_ENUM:
        out << field->name() << ": "
            << EnumShortName(*field->enum_type(), r.GetEnumValue(message, field)) << "\n";
        break;
      case pb::FieldDescriptor::CPPTYPE_INT32:
        out << field->name() << ": " << r.GetInt32(message, field) << "\n";
        break;
      case pb::FieldDescriptor::CPPTYPE_INT64:
        out << field->name() << ": " << r.GetInt64(message, field) << "\n";
        break;
      case pb::FieldDescriptor::CPPTYPE_UINT32:
        out << field->name() << ": " << r.GetUInt32(message, field) << "\n";
        break;
      case pb::FieldDescriptor::CPPTYPE_UINT64:
        out << field->name() << ": " << r.GetUInt64(message, field) << "\n";
        break;
      case pb::FieldDescriptor::CPPTYPE_DOUBLE:
        out << field->name() << ": " << r.GetDouble(message, field) << "\n";
        break;
      case pb::FieldDescriptor::CPPTYPE_FLOAT:
        out << field->name() << ": " << r.GetFloat(message, field) << "\n";
        break;
      case pb::FieldDescriptor::CPPTYPE_BOOL:
        out << field->name() << ": " << (r.GetBool(message, field) ? "true" : "false") << "\n";
        break;
    }
  }
}

}  // namespace crm::crmctl
