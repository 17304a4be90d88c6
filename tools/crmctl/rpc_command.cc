#include "rpc_command.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "crm/runtime/status.h"
#include "google/protobuf/util/time_util.h"
#include "proto_fields.h"

namespace crm::crmctl {
namespace {

namespace pb = google::protobuf;

// ------------------------------------------------------- building the request

absl::StatusOr<std::string> ReadJsonArg(const std::string& arg) {
  if (arg == "-") return std::string(std::istreambuf_iterator<char>(std::cin), {});
  if (arg.starts_with("@")) {
    std::ifstream in(arg.substr(1), std::ios::binary);
    if (!in) return absl::NotFoundError("--json: cannot read " + arg.substr(1));
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  return arg;
}

absl::Status WithFlag(const std::string& flag, const absl::Status& status) {
  if (status.ok()) return status;
  return absl::Status(status.code(), "--" + flag + ": " + std::string(status.message()));
}

// "basic.name" for "basic.name", "characteristics.annual_revenue" for
// "characteristics.annual_revenue.amount_minor"; nullopt for a top-level field.
std::optional<std::string> UpdatePathOf(const std::string& field_path) {
  std::vector<std::string> parts = absl::StrSplit(field_path, '.');
  if (parts.size() < 2) return std::nullopt;
  return parts[0] + "." + parts[1];
}

// "KEY=TEXT" values of a kPairList flag into the elements SetRepeatedMessages takes.
absl::Status SetPairs(pb::Message& request, const FieldFlag& flag,
                      const std::vector<std::string>& values) {
  std::vector<std::vector<std::pair<std::string, std::string>>> elements;
  for (const std::string& value : values) {
    const size_t eq = value.find(flag.pair_separator);
    if (eq == std::string::npos) {
      return absl::InvalidArgumentError(
          "'" + value + "' is not " + absl::AsciiStrToUpper(flag.pair_fields.first) +
          flag.pair_separator + absl::AsciiStrToUpper(flag.pair_fields.second));
    }
    elements.push_back({{flag.pair_fields.first, value.substr(0, eq)},
                        {flag.pair_fields.second, value.substr(eq + 1)}});
  }
  return SetRepeatedMessages(request, flag.path, elements);
}

absl::Status ApplyFlag(const FieldFlag& flag, const FlagValue& value, pb::Message& request) {
  switch (flag.kind) {
    case FlagKind::kValue:
      return SetField(request, flag.path, value.value);
    case FlagKind::kSwitch:
      return SetField(request, flag.path, value.on ? "true" : "false");
    case FlagKind::kList:
      return SetRepeatedField(request, flag.path, value.list);
    case FlagKind::kMajorUnits: {
      absl::StatusOr<int64_t> minor = ParseMajorUnits(value.value);
      if (!minor.ok()) return minor.status();
      return SetField(request, flag.path, std::to_string(*minor));
    }
    case FlagKind::kPairList:
      return SetPairs(request, flag, value.list);
  }
  return absl::InternalError("unknown flag kind");
}

// --json first, then each flag given (overriding), then defaults for fields
// still unset, then the row's fixed fields, then the write options.
absl::Status BuildRequest(const Invocation& inv, pb::Message& request) {
  const RpcSpec& spec = *inv.spec;
  if (!inv.json.empty()) {
    absl::StatusOr<std::string> json = ReadJsonArg(inv.json);
    if (!json.ok()) return json.status();
    if (absl::Status s = MergeJson(*json, request); !s.ok()) return s;
  }
  for (size_t i = 0; i < spec.flags.size(); ++i) {
    const FieldFlag& flag = spec.flags[i];
    const FlagValue& value = inv.values[i];
    if (value.option->count() == 0) {
      if (!flag.default_value.empty() && !FieldIsSet(request, flag.path)) {
        if (absl::Status s = SetField(request, flag.path, flag.default_value); !s.ok()) return s;
      }
      continue;
    }
    if (absl::Status s = ApplyFlag(flag, value, request); !s.ok()) return WithFlag(flag.name, s);
    if (spec.update_paths_from_flags) {
      if (std::optional<std::string> path = UpdatePathOf(flag.path)) {
        if (absl::Status s = AddUniqueString(request, "update_paths", *path); !s.ok()) return s;
      }
    }
  }
  for (const auto& [path, value] : spec.fixed) {
    if (absl::Status s = SetField(request, path, value); !s.ok()) return s;
  }
  if (spec.write) {
    if (!inv.command_id.empty()) {
      if (absl::Status s = SetField(request, "options.command_id", inv.command_id); !s.ok()) {
        return WithFlag("command_id", s);
      }
    }
    if (!inv.expected_version.empty()) {
      if (absl::Status s = SetField(request, "options.expected_version", inv.expected_version);
          !s.ok()) {
        return WithFlag("expected_version", s);
      }
    }
  }
  return absl::OkStatus();
}

// ----------------------------------------------------------------- the wiring

void AddRpcCommand(CLI::App& parent, const RpcGroup& group, const RpcSpec& spec,
                   const std::shared_ptr<const std::vector<RpcSpec>>& rows, std::ostream* out,
                   std::ostream* err) {
  CLI::App* cmd = parent.add_subcommand(spec.command, spec.help);
  auto inv = std::make_shared<Invocation>();
  inv->spec = &spec;
  inv->out = out;
  inv->err = err;
  inv->values.resize(spec.flags.size());  // bound by address below: never resized again

  AddClientFlags(*cmd, inv->client, group.addr_env, group.default_addr);
  cmd->add_option("--json", inv->json,
                  "The request as proto3 JSON ('@FILE' reads a file, '-' stdin); flags given "
                  "override its fields")
      ->group("Request");
  for (size_t i = 0; i < spec.flags.size(); ++i) {
    const FieldFlag& flag = spec.flags[i];
    FlagValue& value = inv->values[i];
    const std::string name = "--" + flag.name;
    std::string help = flag.help + " [" + flag.path + "]";
    if (!flag.default_value.empty()) help += " (default " + flag.default_value + ")";
    switch (flag.kind) {
      case FlagKind::kValue:
      case FlagKind::kMajorUnits:
        value.option = cmd->add_option(name, value.value, help);
        break;
      case FlagKind::kSwitch:
        value.option = cmd->add_flag(name, value.on, help);
        break;
      case FlagKind::kList:
        value.option = cmd->add_option(name, value.list, help)->delimiter(',');
        break;
      case FlagKind::kPairList:  // no delimiter: the text may hold commas
        value.option = cmd->add_option(name, value.list, help);
        break;
    }
    value.option->group("Request");
  }
  if (spec.write) {
    cmd->add_option(
           "--command_id", inv->command_id,
           "Idempotency key: a retry with the same id changes nothing [options.command_id]")
        ->group("Write");
    if (!spec.create) {
      cmd->add_option("--expected_version", inv->expected_version,
                      "Fail with ABORTED unless the " + group.entity +
                          " is at this version [options.expected_version]")
          ->group("Write");
    }
  }
  cmd->add_flag("--dry_run", inv->dry_run, "Print the request as JSON instead of sending it");
  // `rows` keeps the spec `inv` points to alive as long as the callback.
  cmd->callback([inv, rows] {
    if (int rc = inv->spec->run(*inv); rc != kExitOk) throw CLI::RuntimeError(rc);
  });
}

}  // namespace

std::optional<int> PrepareRequest(const Invocation& inv, pb::Message& request) {
  if (absl::Status s = BuildRequest(inv, request); !s.ok()) {
    return ReportError(s, *inv.err, /*before_call=*/true);
  }
  if (inv.dry_run) {
    *inv.out << ToJson(request) << std::endl;
    return kExitOk;
  }
  return std::nullopt;
}

void PrintResponse(const Invocation& inv, const pb::Message& response) {
  std::ostream& out = *inv.out;
  if (inv.client.json()) {
    out << ToJson(response) << "\n";
  } else if (inv.spec->text != nullptr) {
    inv.spec->text(response, out);
  } else {
    PrintFields(response, out);
  }
  out.flush();
}

int ReportCallError(const Invocation& inv, const grpc::Status& status) {
  return ReportError(runtime::FromGrpcStatus(status), *inv.err, /*before_call=*/false, &inv.client);
}

std::vector<FieldFlag> Concat(std::initializer_list<std::vector<FieldFlag>> parts) {
  std::vector<FieldFlag> all;
  for (const auto& part : parts) all.insert(all.end(), part.begin(), part.end());
  return all;
}

std::vector<FieldFlag> PageFlags(std::string_view default_size, std::string_view max_size) {
  return {{"page_size", "page_size",
           "1.." + std::string(max_size) + " (server default " + std::string(default_size) + ")"},
          {"page_token", "page_token", "next_page_token of the previous page"}};
}

std::vector<FieldFlag> MoneyFlags(const std::string& path, const std::string& what,
                                  const std::string& amount_flag) {
  return {
      {amount_flag, path + ".amount_minor",
       what + " in major units, e.g. 250000.00 (sent as minor units x100)", FlagKind::kMajorUnits},
      {"currency", path + ".currency_code", "ISO 4217 code, e.g. CNY"}};
}

void AddRpcGroup(CLI::App& app, const RpcGroup& group, std::vector<RpcSpec> rpcs, std::ostream* out,
                 std::ostream* err) {
  auto rows = std::make_shared<const std::vector<RpcSpec>>(std::move(rpcs));
  CLI::App* cmd = app.add_subcommand(group.name, group.help);
  cmd->require_subcommand(1);
  const bool creates = std::any_of(rows->begin(), rows->end(),
                                   [](const RpcSpec& spec) { return spec.write && spec.create; });
  const bool writes =
      std::any_of(rows->begin(), rows->end(), [](const RpcSpec& spec) { return spec.write; });
  std::string footer = "Each subcommand takes --addr (env " + group.addr_env +
                       "), --token (env CRM_TOKEN), --output text|json, --timeout, "
                       "--tls_ca_file, --json and --dry_run";
  footer += writes ? std::string("; writes also --command_id and ") +
                         (creates ? "(except creates) " : "") + "--expected_version."
                   : ".";
  if (!group.enum_examples.empty()) {
    footer += " Enum values take their short names (" + group.enum_examples + ").";
  }
  cmd->footer(footer);
  for (const RpcSpec& spec : *rows) AddRpcCommand(*cmd, group, spec, rows, out, err);
}

void AddRpcCommands(CLI::App& parent, const RpcGroup& group, std::vector<RpcSpec> rpcs,
                    std::ostream* out, std::ostream* err) {
  auto rows = std::make_shared<const std::vector<RpcSpec>>(std::move(rpcs));
  for (const RpcSpec& spec : *rows) AddRpcCommand(parent, group, spec, rows, out, err);
}

// ---------------------------------------------------------------- text helpers

std::string FormatTime(const pb::Timestamp& ts) {
  if (ts.seconds() == 0 && ts.nanos() == 0) return "-";
  return pb::util::TimeUtil::ToString(ts);
}

std::string OrDash(const std::string& s) { return s.empty() ? "-" : s; }

std::string FormatMinor(int64_t minor) {
  const bool negative = minor < 0;
  const uint64_t abs = negative ? 0 - static_cast<uint64_t>(minor) : static_cast<uint64_t>(minor);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%s%llu.%02llu", negative ? "-" : "",
                static_cast<unsigned long long>(abs / 100),
                static_cast<unsigned long long>(abs % 100));
  return buf;
}

void PrintKeyValue(std::ostream& out, std::string_view key, const std::string& value) {
  out << key << ":" << std::string(16 - std::min<size_t>(15, key.size()), ' ') << value << "\n";
}

void PrintNextPageToken(std::ostream& out, const std::string& token) {
  out << "next_page_token:" << (token.empty() ? "" : " ") << token << "\n";
}

std::string Fixed2(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

std::string Today() { return absl::FormatTime("%Y-%m-%d", absl::Now(), absl::UTCTimeZone()); }

void PrintRow(std::ostream& out, const std::string& key, const std::vector<std::string>& cells) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "%-20s", key.c_str());
  out << buf;
  for (const std::string& cell : cells) {
    std::snprintf(buf, sizeof buf, " %14s", cell.c_str());
    out << buf;
  }
  out << "\n";
}

}  // namespace crm::crmctl
