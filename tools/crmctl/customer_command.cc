#include "customer_command.h"

#include <cstdio>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_split.h"
#include "crm/runtime/status.h"
#include "google/protobuf/util/time_util.h"
#include "grpcpp/support/sync_stream.h"
#include "proto_fields.h"

namespace crm::crmctl {
namespace {

namespace pb = google::protobuf;
namespace v1 = crm::customer::v1;
using Stub = v1::CustomerService::StubInterface;

// ----------------------------------------------------------------- the table

// How a flag's text becomes field values.
enum class FlagKind {
  kValue,       // one value converted by the field's type (see SetField)
  kSwitch,      // a flag without value: --confirm_duplicate
  kList,        // repeatable; replaces the repeated field: --hobby a --hobby b
  kMajorUnits,  // "1200.50" into an amount_minor field as 120050
};

// One convenience flag: --<name> sets the request field at <path>.
struct FieldFlag {
  std::string name;
  std::string path;
  std::string help;
  FlagKind kind = FlagKind::kValue;
  // Applied when neither the flag nor --json sets the field.
  std::string default_value = {};
};

struct Invocation;

// One subcommand. Everything but `run` and `text` is data; `run` is one of
// the two generic callers below, instantiated for the RPC's types.
struct RpcSpec {
  std::string command;
  std::string help;
  bool write = false;  // takes --command_id and --expected_version (request field `options`)
  std::vector<FieldFlag> flags;
  int (*run)(const Invocation&) = nullptr;
  // The text form of a response (of each message, for a stream); nullptr: PrintFields.
  void (*text)(const pb::Message&, std::ostream&) = nullptr;
  // UpdateCustomer: each basic/characteristics/source flag given also adds
  // its "<group>.<field>" to update_paths.
  bool update_paths_from_flags = false;
};

// The parsed command line of one subcommand.
struct FlagValue {
  CLI::Option* option = nullptr;
  std::string value;
  std::vector<std::string> list;
  bool on = false;
};

struct Invocation {
  const RpcSpec* spec = nullptr;
  std::shared_ptr<const CustomerCommandEnv> env;
  ClientOptions client;
  std::string json;
  std::string command_id;
  std::string expected_version;
  bool dry_run = false;
  std::vector<FlagValue> values;  // parallel to spec->flags
};

std::vector<FieldFlag> Concat(std::initializer_list<std::vector<FieldFlag>> parts) {
  std::vector<FieldFlag> all;
  for (const auto& part : parts) all.insert(all.end(), part.begin(), part.end());
  return all;
}

FieldFlag IdFlag() { return {"id", "customer_id", "Customer id"}; }

std::string EnumHelp(const pb::EnumDescriptor* type) { return EnumShortNames(*type); }

std::vector<FieldFlag> BasicFlags() {
  return {
      {"name", "basic.name", "Company name"},
      {"industry", "basic.industry", "Industry, e.g. manufacturing"},
      {"registration_number", "basic.registration_number", "Business registration number"},
      {"address", "basic.address", "Postal address"},
      {"legal_representative", "basic.legal_representative", "Legal representative"},
      {"founding_date", "basic.founding_date", "Founding date YYYY-MM-DD"},
      {"nature", "basic.nature", EnumHelp(v1::EnterpriseNature_descriptor())},
      {"website", "basic.website", "Website URL"},
      {"registered_capital", "basic.registered_capital.amount_minor",
       "Registered capital in major units, e.g. 1000000.00", FlagKind::kMajorUnits},
      {"registered_capital_currency", "basic.registered_capital.currency_code",
       "ISO 4217 code, e.g. CNY"},
  };
}

std::vector<FieldFlag> CharacteristicsFlags() {
  return {
      {"employee_count", "characteristics.employee_count", "Number of employees"},
      {"annual_revenue", "characteristics.annual_revenue.amount_minor",
       "Annual revenue in major units", FlagKind::kMajorUnits},
      {"annual_revenue_currency", "characteristics.annual_revenue.currency_code",
       "ISO 4217 code, e.g. CNY"},
      {"purchase_decision_traits", "characteristics.purchase_decision_traits",
       "How the customer decides on purchases"},
      {"needs", "characteristics.needs", "Concrete needs"},
      {"interests", "characteristics.interests", "Interests and expectations"},
      {"business_trend", "characteristics.business_trend", "Business trend"},
      {"market_position", "characteristics.market_position", "Market position"},
  };
}

std::vector<FieldFlag> SourceFlags() {
  return {
      {"source", "source.channel", EnumHelp(v1::SourceChannel_descriptor())},
      {"referrer", "source.referrer", "Who referred the customer"},
  };
}

std::vector<FieldFlag> ContactFlags() {
  return {
      {"name", "contact.personal.name", "Full name"},
      {"title", "contact.title", "Job title"},
      {"phone", "contact.personal.phone", "Phone number"},
      {"fax", "contact.personal.fax", "Fax number"},
      {"email", "contact.personal.email", "E-mail address"},
      {"birthday", "contact.personal.birthday", "MM-DD or YYYY-MM-DD"},
      {"hobby", "contact.personal.hobbies", "Hobbies, comma-separated or repeated",
       FlagKind::kList},
      {"preferences", "contact.personal.preferences", "Preferences"},
      {"decision_maker", "contact.decision_maker", "Takes purchase decisions", FlagKind::kSwitch},
  };
}

// The stub's blocking methods, e.g. &Stub::GetCustomer and &Stub::StreamEvents.
template <typename Req, typename Resp>
using UnaryMethod = grpc::Status (Stub::*)(grpc::ClientContext*, const Req&, Resp*);
template <typename Req, typename Resp>
using StreamMethod =
    std::unique_ptr<grpc::ClientReaderInterface<Resp>> (Stub::*)(grpc::ClientContext*, const Req&);

template <typename Req, typename Resp>
int CallUnary(const Invocation& inv, UnaryMethod<Req, Resp> method);
template <typename Req, typename Resp>
int CallServerStream(const Invocation& inv, StreamMethod<Req, Resp> method);
void PrintCustomer(const pb::Message& m, std::ostream& out);
void PrintCustomerList(const pb::Message& m, std::ostream& out);
void PrintHistory(const pb::Message& m, std::ostream& out);
void PrintStreamedEvent(const pb::Message& m, std::ostream& out);

const std::vector<RpcSpec>& Rpcs() {
  static const std::vector<RpcSpec>* rpcs = new std::vector<RpcSpec>{
      {.command = "register",
       .help = "Register a customer (ALREADY_EXISTS on a possible duplicate)",
       .write = true,
       .flags = Concat({BasicFlags(),
                        CharacteristicsFlags(),
                        SourceFlags(),
                        {{"owner", "owner", "Owner (sales rep subject); default the caller"},
                         {"region", "region", "Region; default the caller's"},
                         {"lifecycle", "lifecycle", EnumHelp(v1::Lifecycle_descriptor())},
                         {"confirm_duplicate", "confirm_duplicate",
                          "Register even though a possible duplicate exists", FlagKind::kSwitch}}}),
       .run = [](const Invocation& i) { return CallUnary(i, &Stub::RegisterCustomer); }},
      {.command = "update",
       .help = "Change basic data, characteristics or source (each flag given is added to "
               "update_paths)",
       .write = true,
       .flags = Concat({{IdFlag()},
                        BasicFlags(),
                        CharacteristicsFlags(),
                        SourceFlags(),
                        {{"update_paths", "update_paths",
                          "Field paths to change, comma-separated (e.g. basic.website); added to "
                          "those of the flags",
                          FlagKind::kList}}}),
       .run = [](const Invocation& i) { return CallUnary(i, &Stub::UpdateCustomer); },
       .update_paths_from_flags = true},
      {.command = "add-contact",
       .help = "Add a contact person",
       .write = true,
       .flags = Concat({{IdFlag()}, ContactFlags()}),
       .run = [](const Invocation& i) { return CallUnary(i, &Stub::AddContact); }},
      {.command = "update-contact",
       .help = "Replace a contact's data (fields not given are cleared: give them all, or "
               "start from --json)",
       .write = true,
       .flags =
           Concat({{IdFlag(), {"contact_id", "contact.contact_id", "Contact id"}}, ContactFlags()}),
       .run = [](const Invocation& i) { return CallUnary(i, &Stub::UpdateContact); }},
      {.command = "remove-contact",
       .help = "Remove a contact",
       .write = true,
       .flags = {IdFlag(), {"contact_id", "contact_id", "Contact id"}},
       .run = [](const Invocation& i) { return CallUnary(i, &Stub::RemoveContact); }},
      {.command = "record-transaction",
       .help = "Record business with the customer (own company or a competitor)",
       .write = true,
       .flags = {IdFlag(),
                 {"party", "transaction.party", EnumHelp(v1::TransactionParty_descriptor())},
                 {"competitor", "transaction.competitor", "Competitor's name (party competitor)"},
                 {"amount", "transaction.amount.amount_minor",
                  "Amount in major units, e.g. 1200.50 (sent as minor units x100)",
                  FlagKind::kMajorUnits},
                 {"currency", "transaction.amount.currency_code", "ISO 4217 code, e.g. CNY"},
                 {"date", "transaction.date", "YYYY-MM-DD"},
                 {"paid_date", "transaction.paid_date", "YYYY-MM-DD the customer paid"},
                 {"mode", "transaction.cooperation_mode", "Cooperation mode"},
                 {"payment_method", "transaction.payment_method", "Payment method"},
                 {"contract_number", "transaction.contract_number", "Contract number"}},
       .run = [](const Invocation& i) { return CallUnary(i, &Stub::RecordTransaction); }},
      {.command = "record-agreement",
       .help = "Record an agreement (status defaults to drafted)",
       .write = true,
       .flags = {IdFlag(),
                 {"title", "agreement.title", "Title"},
                 {"status", "agreement.status", EnumHelp(v1::AgreementStatus_descriptor())},
                 {"start_date", "agreement.start_date", "YYYY-MM-DD"},
                 {"end_date", "agreement.end_date", "YYYY-MM-DD"},
                 {"amount", "agreement.amount.amount_minor",
                  "Amount in major units, e.g. 1200.50 (sent as minor units x100)",
                  FlagKind::kMajorUnits},
                 {"currency", "agreement.amount.currency_code", "ISO 4217 code, e.g. CNY"},
                 {"payment_terms", "agreement.payment_terms", "Payment terms"}},
       .run = [](const Invocation& i) { return CallUnary(i, &Stub::RecordAgreement); }},
      {.command = "change-agreement-status",
       .help = "Move an agreement to another status",
       .write = true,
       .flags = {IdFlag(),
                 {"agreement_id", "agreement_id", "Agreement id"},
                 {"status", "status", EnumHelp(v1::AgreementStatus_descriptor())},
                 {"note", "note", "Why (what changed, why terminated)"}},
       .run = [](const Invocation& i) { return CallUnary(i, &Stub::ChangeAgreementStatus); }},
      {.command = "change-lifecycle",
       .help = "Change the lifecycle stage (churn needs --reason)",
       .write = true,
       .flags = {IdFlag(),
                 {"to", "lifecycle", EnumHelp(v1::Lifecycle_descriptor())},
                 {"reason", "churn_reason", "Churn reason (required for churned)"}},
       .run = [](const Invocation& i) { return CallUnary(i, &Stub::ChangeLifecycle); }},
      {.command = "assign-owner",
       .help = "Transfer ownership (owner and/or region)",
       .write = true,
       .flags = {IdFlag(),
                 {"owner", "owner", "New owner (empty keeps the current one)"},
                 {"region", "region", "New region (empty keeps the current one)"},
                 {"reason", "reason", "Why"}},
       .run = [](const Invocation& i) { return CallUnary(i, &Stub::AssignOwner); }},
      {.command = "set-verification",
       .help = "Confirm or discard the collected data",
       .write = true,
       .flags = {IdFlag(),
                 {"state", "verification", EnumHelp(v1::VerificationState_descriptor())},
                 {"note", "note", "Note"}},
       .run = [](const Invocation& i) { return CallUnary(i, &Stub::SetVerification); }},
      {.command = "grant-access",
       .help = "Grant someone outside the customer's scope access until an expiry",
       .write = true,
       .flags = {IdFlag(),
                 {"subject", "subject", "The user to grant access to"},
                 {"expires", "expires_at", "RFC 3339 time or YYYY-MM-DD (UTC midnight)"},
                 {"reason", "reason", "Why"}},
       .run = [](const Invocation& i) { return CallUnary(i, &Stub::GrantAccess); }},
      {.command = "revoke-access",
       .help = "Withdraw an access grant",
       .write = true,
       .flags = {IdFlag(), {"subject", "subject", "The user whose grant ends"}},
       .run = [](const Invocation& i) { return CallUnary(i, &Stub::RevokeAccess); }},
      {.command = "get",
       .help = "Show a customer, as it is or as it was at --as_of",
       .flags = {IdFlag(),
                 {"as_of", "as_of", "RFC 3339 time (2026-01-01T00:00:00Z) or YYYY-MM-DD"}},
       .run = [](const Invocation& i) { return CallUnary(i, &Stub::GetCustomer); },
       .text = &PrintCustomer},
      {.command = "list",
       .help = "List the customers the caller may see (one page)",
       .flags = {{"owner", "owner", "Owner"},
                 {"region", "region", "Region"},
                 {"industry", "industry", "Industry"},
                 {"lifecycle", "lifecycle", EnumHelp(v1::Lifecycle_descriptor())},
                 {"class", "customer_class", "Customer class, e.g. A"},
                 {"name_prefix", "name_prefix", "Case-insensitive start of the name"},
                 {"page_size", "page_size", "1..500 (server default 50)"},
                 {"page_token", "page_token", "next_page_token of the previous page"}},
       .run = [](const Invocation& i) { return CallUnary(i, &Stub::ListCustomers); },
       .text = &PrintCustomerList},
      {.command = "history",
       .help = "The audit trail of one customer (one page)",
       .flags = {IdFlag(),
                 {"page_size", "page_size", "1..500 (server default 100)"},
                 {"page_token", "page_token", "next_page_token of the previous page"}},
       .run = [](const Invocation& i) { return CallUnary(i, &Stub::GetCustomerHistory); },
       .text = &PrintHistory},
      {.command = "stream-events",
       .help = "The service's event log from a global position (service and admin roles); "
               "--output json prints one JSON object per line",
       .flags = {{"from", "from_position", "First global position", FlagKind::kValue, "1"},
                 {"max", "max_events", "Stop after this many events (0: until caught up)"}},
       .run = [](const Invocation& i) { return CallServerStream(i, &Stub::StreamEvents); },
       .text = &PrintStreamedEvent},
  };
  return *rpcs;
}

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
// "characteristics.annual_revenue.amount_minor"; nullopt outside the groups
// UpdateCustomer can change.
std::optional<std::string> UpdatePathOf(const std::string& field_path) {
  std::vector<std::string> parts = absl::StrSplit(field_path, '.');
  if (parts.size() < 2) return std::nullopt;
  if (parts[0] != "basic" && parts[0] != "characteristics" && parts[0] != "source") {
    return std::nullopt;
  }
  return parts[0] + "." + parts[1];
}

// --json first, then each flag given (overriding), then defaults for fields
// still unset, then the write options.
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
    absl::Status status;
    switch (flag.kind) {
      case FlagKind::kValue:
        status = SetField(request, flag.path, value.value);
        break;
      case FlagKind::kSwitch:
        status = SetField(request, flag.path, value.on ? "true" : "false");
        break;
      case FlagKind::kList:
        status = SetRepeatedField(request, flag.path, value.list);
        break;
      case FlagKind::kMajorUnits: {
        absl::StatusOr<int64_t> minor = ParseMajorUnits(value.value);
        status = minor.ok() ? SetField(request, flag.path, std::to_string(*minor)) : minor.status();
        break;
      }
    }
    if (!status.ok()) return WithFlag(flag.name, status);
    if (spec.update_paths_from_flags) {
      if (std::optional<std::string> path = UpdatePathOf(flag.path)) {
        if (absl::Status s = AddUniqueString(request, "update_paths", *path); !s.ok()) return s;
      }
    }
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

// Builds the request; on failure or --dry_run, the exit code to stop with.
std::optional<int> PrepareRequest(const Invocation& inv, pb::Message& request) {
  if (absl::Status s = BuildRequest(inv, request); !s.ok()) {
    return ReportError(s, *inv.env->err, /*before_call=*/true);
  }
  if (inv.dry_run) {
    *inv.env->out << ToJson(request) << std::endl;
    return kExitOk;
  }
  return std::nullopt;
}

absl::StatusOr<std::unique_ptr<Stub>> MakeStub(const Invocation& inv) {
  if (inv.env->stub_factory) return inv.env->stub_factory(inv.client);
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = MakeChannel(inv.client);
  if (!channel.ok()) return channel.status();
  return std::unique_ptr<Stub>(v1::CustomerService::NewStub(*channel));
}

void PrintResponse(const Invocation& inv, const pb::Message& response) {
  std::ostream& out = *inv.env->out;
  if (inv.client.json()) {
    out << ToJson(response) << "\n";
  } else if (inv.spec->text != nullptr) {
    inv.spec->text(response, out);
  } else {
    PrintFields(response, out);
  }
  out.flush();
}

// ------------------------------------------------------------ the two callers

// One generic caller for every unary RPC: request from flags, call, print.
template <typename Req, typename Resp>
int CallUnary(const Invocation& inv, UnaryMethod<Req, Resp> method) {
  Req request;
  if (std::optional<int> rc = PrepareRequest(inv, request)) return *rc;
  absl::StatusOr<std::unique_ptr<Stub>> stub = MakeStub(inv);
  if (!stub.ok()) return ReportError(stub.status(), *inv.env->err);
  grpc::ClientContext context;
  if (absl::Status s = PrepareContext(inv.client, context); !s.ok()) {
    return ReportError(s, *inv.env->err, /*before_call=*/true);
  }
  Resp response;
  grpc::Status status = ((**stub).*method)(&context, request, &response);
  if (!status.ok()) {
    return ReportError(runtime::FromGrpcStatus(status), *inv.env->err, false, &inv.client);
  }
  PrintResponse(inv, response);
  return kExitOk;
}

// As CallUnary, for a server stream: prints each message as it arrives.
template <typename Req, typename Resp>
int CallServerStream(const Invocation& inv, StreamMethod<Req, Resp> method) {
  Req request;
  if (std::optional<int> rc = PrepareRequest(inv, request)) return *rc;
  absl::StatusOr<std::unique_ptr<Stub>> stub = MakeStub(inv);
  if (!stub.ok()) return ReportError(stub.status(), *inv.env->err);
  grpc::ClientContext context;
  if (absl::Status s = PrepareContext(inv.client, context); !s.ok()) {
    return ReportError(s, *inv.env->err, /*before_call=*/true);
  }
  std::unique_ptr<grpc::ClientReaderInterface<Resp>> reader = ((**stub).*method)(&context, request);
  Resp message;
  while (reader->Read(&message)) PrintResponse(inv, message);
  grpc::Status status = reader->Finish();
  if (!status.ok()) {
    return ReportError(runtime::FromGrpcStatus(status), *inv.env->err, false, &inv.client);
  }
  return kExitOk;
}

// ------------------------------------------------------------------ text forms

std::string Time(const pb::Timestamp& ts) {
  if (ts.seconds() == 0 && ts.nanos() == 0) return "-";
  return pb::util::TimeUtil::ToString(ts);
}

std::string OrDash(const std::string& s) { return s.empty() ? "-" : s; }

std::string Lifecycle(v1::Lifecycle lifecycle) {
  return EnumShortName(*v1::Lifecycle_descriptor(), lifecycle);
}

void PrintCustomer(const pb::Message& m, std::ostream& out) {
  const v1::Customer& c = dynamic_cast<const v1::GetCustomerResponse&>(m).customer();
  auto line = [&out](std::string_view key, const std::string& value) {
    out << key << ":" << std::string(16 - std::min<size_t>(15, key.size()), ' ') << value << "\n";
  };
  line("name", c.basic().name());
  line("customer_id", c.customer_id());
  line("version", std::to_string(c.version()));
  line("owner", OrDash(c.owner()));
  line("region", OrDash(c.region()));
  line("lifecycle", Lifecycle(c.lifecycle()));
  if (!c.churn_reason().empty()) line("churn_reason", c.churn_reason());
  line("verification", EnumShortName(*v1::VerificationState_descriptor(), c.verification()));
  line("industry", OrDash(c.basic().industry()));
  line("class", OrDash(c.customer_class()));
  if (!c.basic().registration_number().empty()) {
    line("registration", c.basic().registration_number());
  }
  line("contacts", std::to_string(c.contacts_size()));
  for (const v1::Contact& contact : c.contacts()) {
    out << "  " << contact.contact_id() << "  " << OrDash(contact.personal().name()) << "  "
        << OrDash(contact.title()) << (contact.decision_maker() ? "  (decision maker)" : "")
        << "\n";
  }
  line("transactions", std::to_string(c.transactions_size()));
  line("agreements", std::to_string(c.agreements_size()));
  for (const v1::Agreement& a : c.agreements()) {
    out << "  " << a.agreement_id() << "  " << OrDash(a.title()) << "  "
        << EnumShortName(*v1::AgreementStatus_descriptor(), a.status()) << "\n";
  }
  line("access_grants", std::to_string(c.access_grants_size()));
  for (const v1::AccessGrant& g : c.access_grants()) {
    out << "  " << g.subject() << "  until " << Time(g.expires_at()) << "\n";
  }
  line("created_at", Time(c.created_at()));
  line("updated_at", Time(c.updated_at()));
}

void PrintCustomerList(const pb::Message& m, std::ostream& out) {
  const auto& r = dynamic_cast<const v1::ListCustomersResponse&>(m);
  for (const v1::Customer& c : r.customers()) {
    out << c.customer_id() << "  " << OrDash(c.basic().name()) << "  " << OrDash(c.owner()) << "  "
        << OrDash(c.region()) << "  " << Lifecycle(c.lifecycle()) << "\n";
  }
  out << "next_page_token:" << (r.next_page_token().empty() ? "" : " ") << r.next_page_token()
      << "\n";
}

void PrintHistory(const pb::Message& m, std::ostream& out) {
  const auto& r = dynamic_cast<const v1::GetCustomerHistoryResponse&>(m);
  for (const v1::HistoryEntry& e : r.entries()) {
    out << e.version() << "  " << Time(e.occurred_at()) << "  " << OrDash(e.actor()) << "  "
        << e.event_type() << "\n";
  }
  out << "next_page_token:" << (r.next_page_token().empty() ? "" : " ") << r.next_page_token()
      << "\n";
}

void PrintStreamedEvent(const pb::Message& m, std::ostream& out) {
  const auto& e = dynamic_cast<const v1::StreamedEvent&>(m);
  out << e.global_position() << "  " << e.customer_id() << "  v" << e.version() << "  "
      << e.event_type() << "  " << OrDash(e.actor()) << "  " << Time(e.occurred_at()) << "\n";
}

// ----------------------------------------------------------------- the wiring

void AddRpcCommand(CLI::App& group, const RpcSpec& spec,
                   const std::shared_ptr<const CustomerCommandEnv>& env) {
  CLI::App* cmd = group.add_subcommand(spec.command, spec.help);
  auto inv = std::make_shared<Invocation>();
  inv->spec = &spec;
  inv->env = env;
  inv->values.resize(spec.flags.size());  // bound by address below: never resized again

  AddClientFlags(*cmd, inv->client, "CRM_CUSTOMER_ADDR", "127.0.0.1:50051");
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
    }
    value.option->group("Request");
  }
  if (spec.write) {
    cmd->add_option(
           "--command_id", inv->command_id,
           "Idempotency key: a retry with the same id changes nothing [options.command_id]")
        ->group("Write");
    cmd->add_option("--expected_version", inv->expected_version,
                    "Fail with ABORTED unless the customer is at this version "
                    "[options.expected_version]")
        ->group("Write");
  }
  cmd->add_flag("--dry_run", inv->dry_run, "Print the request as JSON instead of sending it");
  cmd->callback([inv] {
    if (int rc = inv->spec->run(*inv); rc != kExitOk) throw CLI::RuntimeError(rc);
  });
}

}  // namespace

void AddCustomerCommands(CLI::App& app, std::shared_ptr<const CustomerCommandEnv> env) {
  if (env == nullptr) env = std::make_shared<CustomerCommandEnv>();
  CLI::App* group = app.add_subcommand(
      "customer", "Call crm.customer.v1.CustomerService (one subcommand per RPC)");
  group->require_subcommand(1);
  group->footer(
      "Each subcommand takes --addr (env CRM_CUSTOMER_ADDR), --token (env CRM_TOKEN), "
      "--output text|json, --timeout, --tls_ca_file, --json and --dry_run; writes also "
      "--command_id and --expected_version. Enum values take their short names "
      "(following, own, legal-review).");
  for (const RpcSpec& spec : Rpcs()) AddRpcCommand(*group, spec, env);
}

}  // namespace crm::crmctl
