// The machinery behind every `crmctl <group> <rpc>` command group: a table
// with one row per RPC of a gRPC service (subcommand name, convenience flags
// mapped to request field paths, how to call, how to print) and the generic
// code that turns the rows into CLI11 subcommands, builds the request from
// --json and the flags, calls, and prints the response or the error.
//
//   using Service = crm::interaction::v1::InteractionService;
//   using Stub = Service::StubInterface;
//   std::vector<RpcSpec> rows = {
//       {.command = "get",
//        .help = "Show one interaction",
//        .flags = {{"id", "interaction_id", "Interaction id"}},
//        .run = Unary(env, &Stub::GetInteraction),
//        .text = &PrintInteraction},
//   };
//   AddRpcGroup(app, {.name = "interaction", ..., .addr_env = "CRM_INTERACTION_ADDR"},
//               std::move(rows), env->out, env->err);
//
// Only the callers (Unary, ServerStream) are templates over the service; the
// table, the flags, the request building and the printing are shared code.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <iostream>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "google/protobuf/generated_enum_reflection.h"
#include "google/protobuf/message.h"
#include "google/protobuf/timestamp.pb.h"
#include "grpc_client.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "grpcpp/support/status.h"
#include "grpcpp/support/sync_stream.h"
#include "proto_fields.h"

namespace crm::crmctl {

// ----------------------------------------------------------------- the table

// How a flag's text becomes field values.
enum class FlagKind {
  kValue,       // one value converted by the field's type (see SetField)
  kSwitch,      // a flag without value: --confirm_duplicate
  kList,        // repeatable or comma-separated; replaces the repeated field: --hobby a,b
  kMajorUnits,  // "1200.50" into an amount_minor field as 120050
  kPairList,    // repeatable "KEY=TEXT" (or KEY<pair_separator>TEXT); replaces a repeated
                // message field, each value one element with its pair_fields set:
                // --finding product="late delivery", --class abcd:A
};

// One convenience flag: --<name> sets the request field at <path>.
struct FieldFlag {
  std::string name;
  std::string path;
  std::string help;
  FlagKind kind = FlagKind::kValue;
  // Applied when neither the flag nor --json sets the field.
  std::string default_value = {};
  // kPairList: the element fields KEY and TEXT go to, e.g. {"department", "description"}.
  std::pair<std::string, std::string> pair_fields = {};
  // kPairList: what separates KEY from TEXT (the first one in the value).
  char pair_separator = '=';
};

// The flag lists one after the other: Concat({{IdFlag()}, ContactFlags()}).
std::vector<FieldFlag> Concat(std::initializer_list<std::vector<FieldFlag>> parts);

// --page_size and --page_token of a paged read: "1..<max_size> (server default
// <default_size>)".
std::vector<FieldFlag> PageFlags(std::string_view default_size, std::string_view max_size = "500");

// An amount and its currency, as `crmctl customer record-transaction` takes them:
// --<amount_flag> in major units into <path>.amount_minor (kMajorUnits) and
// --currency into <path>.currency_code, for any money message with those two
// fields: MoneyFlags("final_amount", "Final amount"),
// MoneyFlags("details.budget", "Budget", "budget").
std::vector<FieldFlag> MoneyFlags(const std::string& path, const std::string& what,
                                  const std::string& amount_flag = "amount");

// The short names of a generated enum's values for a flag's help:
// EnumHelp<v1::LostReason>() is "price|competitor|...|other".
template <typename Enum>
std::string EnumHelp() {
  return EnumShortNames(*google::protobuf::GetEnumDescriptor<Enum>());
}

struct Invocation;

// Calls the row's RPC for a parsed command line; returns the exit code.
using RpcRunner = std::function<int(const Invocation&)>;
// The text form of a response (of each message, for a stream).
using TextPrinter = void (*)(const google::protobuf::Message&, std::ostream&);

// One subcommand. Everything but `run` and `text` is data; `run` comes from
// Unary() or ServerStream() below.
struct RpcSpec {
  std::string command;
  std::string help;
  // A write: takes --command_id (request field options.command_id) and, unless
  // `create`, --expected_version (options.expected_version).
  bool write = false;
  // A write that creates a new aggregate (there is no version to expect yet).
  bool create = false;
  std::vector<FieldFlag> flags;
  RpcRunner run;
  TextPrinter text = nullptr;  // nullptr: PrintFields
  // Each flag given whose field lies in a sub-message also adds
  // "<message>.<field>" (its first two path elements) to the request's
  // repeated `update_paths` (UpdateCustomer).
  bool update_paths_from_flags = false;
  // Fields every request of this row sets, as {path, value} converted like a
  // kValue flag, after --json and the flags: two subcommands of one RPC
  // (`ticket wait` / `ticket resume`: {"waiting", "true"} / {"waiting", "false"}).
  std::vector<std::pair<std::string, std::string>> fixed = {};
};

// A command group: `crmctl <name> <rpc>` for one service.
struct RpcGroup {
  std::string name;           // "customer"
  std::string help;           // shown by `crmctl --help`
  std::string entity;         // "customer": what --expected_version refers to
  std::string addr_env;       // "CRM_CUSTOMER_ADDR"
  std::string default_addr;   // "127.0.0.1:50051"
  std::string enum_examples;  // "following, own, legal-review", for the footer
};

// The parsed value of one convenience flag.
struct FlagValue {
  CLI::Option* option = nullptr;
  std::string value;
  std::vector<std::string> list;
  bool on = false;
};

// The parsed command line of one subcommand; filled by CLI11.
struct Invocation {
  const RpcSpec* spec = nullptr;
  std::ostream* out = &std::cout;
  std::ostream* err = &std::cerr;
  ClientOptions client;
  std::string json;
  std::string command_id;
  std::string expected_version;
  bool dry_run = false;
  std::vector<FlagValue> values;  // parallel to spec->flags
};

// Adds `crmctl <group.name>` with one subcommand per row of `rpcs` to `app`:
// the connection flags (AddClientFlags with group.addr_env), --json,
// --dry_run, the rows' flags and, for writes, --command_id and
// --expected_version. Output goes to `out` and `err`, which must outlive parsing.
void AddRpcGroup(CLI::App& app, const RpcGroup& group, std::vector<RpcSpec> rpcs, std::ostream* out,
                 std::ostream* err);

// As AddRpcGroup, into a command group that exists already (`crmctl events`,
// whose `tail` reads Kafka): the rows become subcommands of `parent`; `group`
// gives the connection flags' address environment variable and default.
void AddRpcCommands(CLI::App& parent, const RpcGroup& group, std::vector<RpcSpec> rpcs,
                    std::ostream* out, std::ostream* err);

// ------------------------------------------------- calling, for any service

// Where a group's commands get their stub and write their output. Must
// outlive the parse of the app the commands are added to.
template <typename Service>
struct RpcEnv {
  using Stub = typename Service::StubInterface;
  // Makes the stub a command calls; tests substitute the generated Mock*Stub.
  using StubFactory = std::function<absl::StatusOr<std::unique_ptr<Stub>>(const ClientOptions&)>;

  StubFactory stub_factory;  // empty: Service::NewStub over MakeChannel(options)
  std::ostream* out = &std::cout;
  std::ostream* err = &std::cerr;
};

// Builds the request from --json and the flags into `request`; on failure
// (reported as a usage error) or --dry_run (the request printed as JSON), the
// exit code to stop with.
std::optional<int> PrepareRequest(const Invocation& inv, google::protobuf::Message& request);

// Prints a response as JSON (--output json), with the row's `text`, or PrintFields.
void PrintResponse(const Invocation& inv, const google::protobuf::Message& response);

// Reports a failed call ("error: <CODE>: <message>") and returns kExitFailed.
int ReportCallError(const Invocation& inv, const grpc::Status& status);

namespace rpc_internal {

template <typename Service>
absl::StatusOr<std::unique_ptr<typename Service::StubInterface>> MakeStub(
    const RpcEnv<Service>& env, const ClientOptions& options) {
  if (env.stub_factory) return env.stub_factory(options);
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = MakeChannel(options);
  if (!channel.ok()) return channel.status();
  return std::unique_ptr<typename Service::StubInterface>(Service::NewStub(*channel));
}

// The stub and a prepared context, or the exit code to stop with.
template <typename Service>
std::optional<int> Connect(const Invocation& inv, const RpcEnv<Service>& env,
                           std::unique_ptr<typename Service::StubInterface>& stub,
                           grpc::ClientContext& context) {
  absl::StatusOr<std::unique_ptr<typename Service::StubInterface>> made = MakeStub(env, inv.client);
  if (!made.ok()) return ReportError(made.status(), *inv.err);
  stub = *std::move(made);
  if (absl::Status s = PrepareContext(inv.client, context); !s.ok()) {
    return ReportError(s, *inv.err, /*before_call=*/true);
  }
  return std::nullopt;
}

}  // namespace rpc_internal

// The runner of a unary RPC, e.g. Unary(env, &Stub::GetCustomer): request
// from the flags, call, print the response.
template <typename Service, typename Req, typename Resp>
RpcRunner Unary(std::shared_ptr<const RpcEnv<Service>> env,
                grpc::Status (Service::StubInterface::*method)(grpc::ClientContext*, const Req&,
                                                               Resp*)) {
  return [env = std::move(env), method](const Invocation& inv) -> int {
    Req request;
    if (std::optional<int> rc = PrepareRequest(inv, request)) return *rc;
    std::unique_ptr<typename Service::StubInterface> stub;
    grpc::ClientContext context;
    if (std::optional<int> rc = rpc_internal::Connect(inv, *env, stub, context)) return *rc;
    Resp response;
    grpc::Status status = ((*stub).*method)(&context, request, &response);
    if (!status.ok()) return ReportCallError(inv, status);
    PrintResponse(inv, response);
    return kExitOk;
  };
}

// As Unary, for a server-streaming RPC: prints each message as it arrives.
template <typename Service, typename Req, typename Resp>
RpcRunner ServerStream(std::shared_ptr<const RpcEnv<Service>> env,
                       std::unique_ptr<grpc::ClientReaderInterface<Resp>> (
                           Service::StubInterface::*method)(grpc::ClientContext*, const Req&)) {
  return [env = std::move(env), method](const Invocation& inv) -> int {
    Req request;
    if (std::optional<int> rc = PrepareRequest(inv, request)) return *rc;
    std::unique_ptr<typename Service::StubInterface> stub;
    grpc::ClientContext context;
    if (std::optional<int> rc = rpc_internal::Connect(inv, *env, stub, context)) return *rc;
    std::unique_ptr<grpc::ClientReaderInterface<Resp>> reader =
        ((*stub).*method)(&context, request);
    Resp message;
    while (reader->Read(&message)) PrintResponse(inv, message);
    grpc::Status status = reader->Finish();
    if (!status.ok()) return ReportCallError(inv, status);
    return kExitOk;
  };
}

// ------------------------------------------------- helpers for text printers

// RFC 3339, or "-" for an unset timestamp.
std::string FormatTime(const google::protobuf::Timestamp& ts);

// `s`, or "-" when empty.
std::string OrDash(const std::string& s);

// Minor units at two decimals, as the amount flags take them: 120050 -> "1200.50".
std::string FormatMinor(int64_t minor);

// "key:" padded to a column, then the value: the line format of the `get` summaries.
void PrintKeyValue(std::ostream& out, std::string_view key, const std::string& value);

// "next_page_token: <token>" (just "next_page_token:" on the last page).
void PrintNextPageToken(std::ostream& out, const std::string& token);

// The short name of a generated enum's value: EnumText(v1::OPPORTUNITY_STAGE_PROPOSAL)
// is "proposal" (EnumShortName).
template <typename Enum>
std::string EnumText(Enum value) {
  return EnumShortName(*google::protobuf::GetEnumDescriptor<Enum>(), static_cast<int>(value));
}

// An amount of a money message (amount_minor, currency_code: crm.interaction.v1.Money
// and the like) as "250000.00 CNY", or "-" when neither is set.
template <typename Money>
std::string FormatMoney(const Money& m) {
  if (m.currency_code().empty() && m.amount_minor() == 0) return "-";
  return FormatMinor(m.amount_minor()) + " " + OrDash(m.currency_code());
}

// `v` at two decimals: 66.666 -> "66.67".
std::string Fixed2(double v);

// Today's date in UTC, "YYYY-MM-DD" (what the services compare due dates with).
std::string Today();

// A row of a report table: the key left-aligned in 20 columns, then each cell
// right-aligned in 14 (PrintRow(out, "stage", {"count", "currency"}) for the header).
void PrintRow(std::ostream& out, const std::string& key, const std::vector<std::string>& cells);

// The start of a history line, "version  occurred_at  actor  event_type", without
// the newline, for any history entry message with those fields
// (OpportunityHistoryEntry, EventHistoryEntry).
template <typename Entry>
void PrintHistoryEntryStart(const Entry& e, std::ostream& out) {
  out << e.version() << "  " << FormatTime(e.occurred_at()) << "  " << OrDash(e.actor()) << "  "
      << e.event_type();
}

}  // namespace crm::crmctl
