#include "customer_command.h"

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "proto_fields.h"

namespace crm::crmctl {
namespace {

namespace pb = google::protobuf;
namespace v1 = crm::customer::v1;
using Service = v1::CustomerService;
using Stub = Service::StubInterface;
using Env = std::shared_ptr<const CustomerCommandEnv>;

// ----------------------------------------------------------------- the table

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

void PrintCustomer(const pb::Message& m, std::ostream& out);
void PrintCustomerList(const pb::Message& m, std::ostream& out);
void PrintHistory(const pb::Message& m, std::ostream& out);
void PrintStreamedEvent(const pb::Message& m, std::ostream& out);

std::vector<RpcSpec> Rpcs(const Env& env) {
  return {
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
       .run = Unary(env, &Stub::RegisterCustomer)},
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
       .run = Unary(env, &Stub::UpdateCustomer),
       .update_paths_from_flags = true},
      {.command = "add-contact",
       .help = "Add a contact person",
       .write = true,
       .flags = Concat({{IdFlag()}, ContactFlags()}),
       .run = Unary(env, &Stub::AddContact)},
      {.command = "update-contact",
       .help = "Replace a contact's data (fields not given are cleared: give them all, or "
               "start from --json)",
       .write = true,
       .flags =
           Concat({{IdFlag(), {"contact_id", "contact.contact_id", "Contact id"}}, ContactFlags()}),
       .run = Unary(env, &Stub::UpdateContact)},
      {.command = "remove-contact",
       .help = "Remove a contact",
       .write = true,
       .flags = {IdFlag(), {"contact_id", "contact_id", "Contact id"}},
       .run = Unary(env, &Stub::RemoveContact)},
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
       .run = Unary(env, &Stub::RecordTransaction)},
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
       .run = Unary(env, &Stub::RecordAgreement)},
      {.command = "change-agreement-status",
       .help = "Move an agreement to another status",
       .write = true,
       .flags = {IdFlag(),
                 {"agreement_id", "agreement_id", "Agreement id"},
                 {"status", "status", EnumHelp(v1::AgreementStatus_descriptor())},
                 {"note", "note", "Why (what changed, why terminated)"}},
       .run = Unary(env, &Stub::ChangeAgreementStatus)},
      {.command = "change-lifecycle",
       .help = "Change the lifecycle stage (churn needs --reason)",
       .write = true,
       .flags = {IdFlag(),
                 {"to", "lifecycle", EnumHelp(v1::Lifecycle_descriptor())},
                 {"reason", "churn_reason", "Churn reason (required for churned)"}},
       .run = Unary(env, &Stub::ChangeLifecycle)},
      {.command = "assign-owner",
       .help = "Transfer ownership (owner and/or region)",
       .write = true,
       .flags = {IdFlag(),
                 {"owner", "owner", "New owner (empty keeps the current one)"},
                 {"region", "region", "New region (empty keeps the current one)"},
                 {"reason", "reason", "Why"}},
       .run = Unary(env, &Stub::AssignOwner)},
      {.command = "set-verification",
       .help = "Confirm or discard the collected data",
       .write = true,
       .flags = {IdFlag(),
                 {"state", "verification", EnumHelp(v1::VerificationState_descriptor())},
                 {"note", "note", "Note"}},
       .run = Unary(env, &Stub::SetVerification)},
      {.command = "grant-access",
       .help = "Grant someone outside the customer's scope access until an expiry",
       .write = true,
       .flags = {IdFlag(),
                 {"subject", "subject", "The user to grant access to"},
                 {"expires", "expires_at", "RFC 3339 time or YYYY-MM-DD (UTC midnight)"},
                 {"reason", "reason", "Why"}},
       .run = Unary(env, &Stub::GrantAccess)},
      {.command = "revoke-access",
       .help = "Withdraw an access grant",
       .write = true,
       .flags = {IdFlag(), {"subject", "subject", "The user whose grant ends"}},
       .run = Unary(env, &Stub::RevokeAccess)},
      // The access requests carry command_id at the top (no options: a request
      // must not tell a customer's version), so they are not `.write` rows.
      {.command = "request-access",
       .help = "Ask for access to a customer, with a reason (the answer is the same "
               "whether or not it exists)",
       .flags = {IdFlag(),
                 {"reason", "reason", "Why (required)"},
                 {"until", "requested_until", "RFC 3339 time or YYYY-MM-DD: access wanted until"},
                 {"command_id", "command_id", "Client-chosen id: a retry gets the first answer"}},
       .run = Unary(env, &Stub::RequestAccess)},
      {.command = "approve-access-request",
       .help = "Approve an access request: a grant until --expires (general manager, "
               "marketing director)",
       .flags = {{"request_id", "request_id", "Request id (from request-access or list-access-requests)"},
                 {"expires", "expires_at", "RFC 3339 time or YYYY-MM-DD (UTC midnight)"},
                 {"command_id", "command_id", "Client-chosen id: a retry gets the first answer"}},
       .run = Unary(env, &Stub::ApproveAccessRequest)},
      {.command = "deny-access-request",
       .help = "Deny an access request, with a reason (general manager, marketing director)",
       .flags = {{"request_id", "request_id", "Request id"},
                 {"reason", "reason", "Why (required)"},
                 {"command_id", "command_id", "Client-chosen id: a retry gets the first answer"}},
       .run = Unary(env, &Stub::DenyAccessRequest)},
      {.command = "list-access-requests",
       .help = "List access requests (one page; general manager, marketing director)",
       .flags = {{"status", "status", EnumHelp(v1::AccessRequestStatus_descriptor())},
                 {"page_size", "page_size", "1..500 (server default 50)"},
                 {"page_token", "page_token", "next_page_token of the previous page"}},
       .run = Unary(env, &Stub::ListAccessRequests)},
      {.command = "get",
       .help = "Show a customer, as it is or as it was at --as_of",
       .flags = {IdFlag(),
                 {"as_of", "as_of", "RFC 3339 time (2026-01-01T00:00:00Z) or YYYY-MM-DD"}},
       .run = Unary(env, &Stub::GetCustomer),
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
       .run = Unary(env, &Stub::ListCustomers),
       .text = &PrintCustomerList},
      {.command = "history",
       .help = "The audit trail of one customer (one page)",
       .flags = {IdFlag(),
                 {"page_size", "page_size", "1..500 (server default 100)"},
                 {"page_token", "page_token", "next_page_token of the previous page"}},
       .run = Unary(env, &Stub::GetCustomerHistory),
       .text = &PrintHistory},
      {.command = "stream-events",
       .help = "The service's event log from a global position (service and admin roles); "
               "--output json prints one JSON object per line",
       .flags = {{"from", "from_position", "First global position", FlagKind::kValue, "1"},
                 {"max", "max_events", "Stop after this many events (0: until caught up)"}},
       .run = ServerStream(env, &Stub::StreamEvents),
       .text = &PrintStreamedEvent},
  };
}

// ------------------------------------------------------------------ text forms

std::string Lifecycle(v1::Lifecycle lifecycle) {
  return EnumShortName(*v1::Lifecycle_descriptor(), lifecycle);
}

void PrintCustomer(const pb::Message& m, std::ostream& out) {
  const v1::Customer& c = dynamic_cast<const v1::GetCustomerResponse&>(m).customer();
  auto line = [&out](std::string_view key, const std::string& value) {
    PrintKeyValue(out, key, value);
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
    out << "  " << g.subject() << "  until " << FormatTime(g.expires_at()) << "\n";
  }
  line("created_at", FormatTime(c.created_at()));
  line("updated_at", FormatTime(c.updated_at()));
}

void PrintCustomerList(const pb::Message& m, std::ostream& out) {
  const auto& r = dynamic_cast<const v1::ListCustomersResponse&>(m);
  for (const v1::Customer& c : r.customers()) {
    out << c.customer_id() << "  " << OrDash(c.basic().name()) << "  " << OrDash(c.owner()) << "  "
        << OrDash(c.region()) << "  " << Lifecycle(c.lifecycle()) << "\n";
  }
  PrintNextPageToken(out, r.next_page_token());
}

void PrintHistory(const pb::Message& m, std::ostream& out) {
  const auto& r = dynamic_cast<const v1::GetCustomerHistoryResponse&>(m);
  for (const v1::HistoryEntry& e : r.entries()) {
    out << e.version() << "  " << FormatTime(e.occurred_at()) << "  " << OrDash(e.actor()) << "  "
        << e.event_type() << "\n";
  }
  PrintNextPageToken(out, r.next_page_token());
}

void PrintStreamedEvent(const pb::Message& m, std::ostream& out) {
  const auto& e = dynamic_cast<const v1::StreamedEvent&>(m);
  out << e.global_position() << "  " << e.customer_id() << "  v" << e.version() << "  "
      << e.event_type() << "  " << OrDash(e.actor()) << "  " << FormatTime(e.occurred_at()) << "\n";
}

}  // namespace

void AddCustomerCommands(CLI::App& app, Env env) {
  if (env == nullptr) env = std::make_shared<CustomerCommandEnv>();
  AddRpcGroup(app,
              {.name = "customer",
               .help = "Call crm.customer.v1.CustomerService (one subcommand per RPC)",
               .entity = "customer",
               .addr_env = "CRM_CUSTOMER_ADDR",
               .default_addr = "127.0.0.1:50051",
               .enum_examples = "following, own, legal-review"},
              Rpcs(env), env->out, env->err);
}

}  // namespace crm::crmctl
