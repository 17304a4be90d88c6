#include "crm/common/field_errors.h"
#include "crm/customer/domain/customer_aggregate.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "crm/common/status_macros.h"
#include "crm/common/text.h"
#include "crm/domain/validation.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/util/message_differencer.h"

namespace crm::customer {

using ::crm::domain::Presence;
using ::crm::domain::ShortName;
using ::crm::domain::ValidateBirthday;
using ::crm::domain::ValidateDate;
using ::crm::domain::ValidateEmail;
using ::crm::domain::ValidateEnum;
using ::crm::domain::ValidateMoney;
using ::crm::domain::ValidateNonNegative;
using ::crm::domain::ValidatePastDate;
using ::crm::domain::ValidatePhone;
using ::crm::domain::ValidateRequiredText;
using ::crm::domain::ValidateText;
using ::crm::domain::ValidateTimestamp;
using ::crm::domain::ValidateUrl;
using ::crm::domain::kMaxIdLength;
using ::crm::domain::kMaxNameLength;

namespace {

using ::google::protobuf::Descriptor;
using ::google::protobuf::FieldDescriptor;
using ::google::protobuf::Message;
using ::google::protobuf::util::MessageDifferencer;

// ---------------------------------------------------------------------------
// Small helpers

std::string Sub(std::string_view prefix, std::string_view name) {
  std::string path(prefix);
  if (!path.empty()) path += '.';
  path += name;
  return path;
}




absl::Status RequireCustomer(const v1::Customer& state) {
  if (state.version() == 0) return absl::NotFoundError("customer not found");
  return absl::OkStatus();
}

absl::StatusOr<std::string> NewPartId(const DecideContext& ctx) {
  if (!ctx.new_id) return absl::InternalError("DecideContext.new_id is not set");
  std::string id = ctx.new_id();
  if (id.empty()) return absl::InternalError("DecideContext.new_id returned an empty id");
  return id;
}

std::string Name(v1::Lifecycle v) { return ShortName(v1::Lifecycle_Name(v), "LIFECYCLE_", v); }
std::string Name(v1::AgreementStatus v) {
  return ShortName(v1::AgreementStatus_Name(v), "AGREEMENT_STATUS_", v);
}
std::string Name(v1::VerificationState v) {
  return ShortName(v1::VerificationState_Name(v), "VERIFICATION_STATE_", v);
}

v1::CustomerEvent NewEvent(std::string_view customer_id) {
  v1::CustomerEvent event;
  event.set_customer_id(std::string(customer_id));
  return event;
}

void NormalizeBasic(v1::BasicData& basic) { basic.set_name(Trimmed(basic.name())); }

void NormalizeContact(v1::Contact& contact) {
  if (contact.has_personal()) {
    contact.mutable_personal()->set_name(Trimmed(contact.personal().name()));
  }
}

// Copies one field (`field` == nullptr: the whole message) from `from` to `to`,
// clearing it in `to` when it is not set in `from`. Both have the same type.
void CopyField(const Message& from, const FieldDescriptor* field, Message* to) {
  if (field == nullptr) {
    to->CopyFrom(from);
    return;
  }
  std::unique_ptr<Message> only(from.New());
  only->CopyFrom(from);
  const auto* reflection = only->GetReflection();
  std::vector<const FieldDescriptor*> set_fields;
  reflection->ListFields(*only, &set_fields);
  for (const FieldDescriptor* other : set_fields) {
    if (other != field) reflection->ClearField(only.get(), other);
  }
  reflection->MutableUnknownFields(only.get())->Clear();
  to->GetReflection()->ClearField(to, field);
  to->MergeFrom(*only);
}

// Whether `a` and `b` hold the same value at `field` (nullptr: whole message);
// unset and default values are the same.
bool SameAt(const Message& a, const Message& b, const FieldDescriptor* field) {
  if (field == nullptr) return MessageDifferencer::Equivalent(a, b);
  std::unique_ptr<Message> x(a.New());
  std::unique_ptr<Message> y(b.New());
  CopyField(a, field, x.get());
  CopyField(b, field, y.get());
  return MessageDifferencer::Equivalent(*x, *y);
}

// ---------------------------------------------------------------------------
// Validation of the record's parts. `prefix` is the path of the part in the
// request ("basic", "contacts[2]", ...).

absl::Status ValidateBasicField(const v1::BasicData& b, int number, std::string_view prefix,
                                absl::Time now) {
  using B = v1::BasicData;
  switch (number) {
    case B::kNameFieldNumber:
      return ValidateRequiredText(Sub(prefix, "name"), b.name(), kMaxNameLength);
    case B::kAddressFieldNumber:
      return ValidateText(Sub(prefix, "address"), b.address());
    case B::kLegalRepresentativeFieldNumber:
      return ValidateText(Sub(prefix, "legal_representative"), b.legal_representative());
    case B::kFoundingDateFieldNumber:
      return ValidatePastDate(Sub(prefix, "founding_date"), b.founding_date(), now);
    case B::kNatureFieldNumber:
      return ValidateEnum(Sub(prefix, "nature"), b.nature(), v1::EnterpriseNature_IsValid,
                          Presence::kOptional);
    case B::kIndustryFieldNumber:
      return ValidateText(Sub(prefix, "industry"), b.industry());
    case B::kRegistrationNumberFieldNumber:
      return ValidateText(Sub(prefix, "registration_number"), b.registration_number());
    case B::kRegisteredCapitalFieldNumber:
      return ValidateMoney(Sub(prefix, "registered_capital"), b.registered_capital(),
                           {.required = false, .non_negative = true});
    case B::kWebsiteFieldNumber:
      return ValidateUrl(Sub(prefix, "website"), b.website());
  }
  return absl::OkStatus();
}

absl::Status ValidateCharacteristicsField(const v1::Characteristics& c, int number,
                                          std::string_view prefix) {
  using C = v1::Characteristics;
  switch (number) {
    case C::kAnnualRevenueFieldNumber:
      return ValidateMoney(Sub(prefix, "annual_revenue"), c.annual_revenue(),
                           {.required = false, .non_negative = true});
    case C::kEmployeeCountFieldNumber:
      return ValidateNonNegative(Sub(prefix, "employee_count"), c.employee_count());
    case C::kPurchaseDecisionTraitsFieldNumber:
      return ValidateText(Sub(prefix, "purchase_decision_traits"), c.purchase_decision_traits());
    case C::kNeedsFieldNumber:
      return ValidateText(Sub(prefix, "needs"), c.needs());
    case C::kInterestsFieldNumber:
      return ValidateText(Sub(prefix, "interests"), c.interests());
    case C::kBusinessTrendFieldNumber:
      return ValidateText(Sub(prefix, "business_trend"), c.business_trend());
    case C::kMarketPositionFieldNumber:
      return ValidateText(Sub(prefix, "market_position"), c.market_position());
  }
  return absl::OkStatus();
}

absl::Status ValidateSourceField(const v1::Source& s, int number, std::string_view prefix) {
  using S = v1::Source;
  switch (number) {
    case S::kChannelFieldNumber:
      return ValidateEnum(Sub(prefix, "channel"), s.channel(), v1::SourceChannel_IsValid,
                          Presence::kOptional);
    case S::kReferrerFieldNumber:
      return ValidateText(Sub(prefix, "referrer"), s.referrer());
  }
  return absl::OkStatus();
}

// Validates every field of a message with `validate_field(number)`, in field order.
template <typename F>
absl::Status ValidateAllFields(const Descriptor* descriptor, F validate_field) {
  for (int i = 0; i < descriptor->field_count(); ++i) {
    RETURN_IF_ERROR(validate_field(descriptor->field(i)->number()));
  }
  return absl::OkStatus();
}

absl::Status ValidateBasic(const v1::BasicData& b, std::string_view prefix, absl::Time now) {
  return ValidateAllFields(v1::BasicData::descriptor(),
                           [&](int number) { return ValidateBasicField(b, number, prefix, now); });
}

absl::Status ValidateCharacteristics(const v1::Characteristics& c, std::string_view prefix) {
  return ValidateAllFields(v1::Characteristics::descriptor(), [&](int number) {
    return ValidateCharacteristicsField(c, number, prefix);
  });
}

absl::Status ValidateSource(const v1::Source& s, std::string_view prefix) {
  return ValidateAllFields(v1::Source::descriptor(),
                           [&](int number) { return ValidateSourceField(s, number, prefix); });
}

// A contact's data (not its id).
absl::Status ValidateContact(const v1::Contact& c, std::string_view prefix) {
  RETURN_IF_ERROR(ValidateText(Sub(prefix, "title"), c.title()));
  const std::string p = Sub(prefix, "personal");
  const v1::PersonalDetails& d = c.personal();
  RETURN_IF_ERROR(ValidateRequiredText(Sub(p, "name"), d.name(), kMaxNameLength));
  RETURN_IF_ERROR(ValidatePhone(Sub(p, "phone"), d.phone()));
  RETURN_IF_ERROR(ValidatePhone(Sub(p, "fax"), d.fax()));
  RETURN_IF_ERROR(ValidateEmail(Sub(p, "email"), d.email()));
  RETURN_IF_ERROR(ValidateBirthday(Sub(p, "birthday"), d.birthday()));
  for (int i = 0; i < d.hobbies_size(); ++i) {
    RETURN_IF_ERROR(ValidateText(Indexed(Sub(p, "hobbies"), i), d.hobbies(i)));
  }
  RETURN_IF_ERROR(ValidateText(Sub(p, "preferences"), d.preferences()));
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Update paths

enum class Part { kBasic, kCharacteristics, kSource };

struct UpdatePath {
  std::string text;
  Part part;
  const FieldDescriptor* field;  // nullptr: the whole part
};

std::optional<UpdatePath> ParseUpdatePath(std::string_view path) {
  const size_t dot = path.find('.');
  const std::string_view head = path.substr(0, dot);
  Part part;
  const Descriptor* descriptor;
  if (head == "basic") {
    part = Part::kBasic;
    descriptor = v1::BasicData::descriptor();
  } else if (head == "characteristics") {
    part = Part::kCharacteristics;
    descriptor = v1::Characteristics::descriptor();
  } else if (head == "source") {
    part = Part::kSource;
    descriptor = v1::Source::descriptor();
  } else {
    return std::nullopt;
  }
  if (dot == std::string_view::npos) return UpdatePath{std::string(path), part, nullptr};
  // Field names contain no '.', so deeper paths ("basic.registered_capital.x") fail here.
  const FieldDescriptor* field = descriptor->FindFieldByName(std::string(path.substr(dot + 1)));
  if (field == nullptr) return std::nullopt;
  return UpdatePath{std::string(path), part, field};
}

// The part `p` of anything with basic/characteristics/source fields (the state,
// the request, the CustomerUpdated event).
template <typename T>
const Message& PartOf(const T& m, Part p) {
  switch (p) {
    case Part::kBasic:
      return m.basic();
    case Part::kCharacteristics:
      return m.characteristics();
    case Part::kSource:
      return m.source();
  }
  return m.basic();
}

template <typename T>
Message* MutablePartOf(T& m, Part p) {
  switch (p) {
    case Part::kBasic:
      return m.mutable_basic();
    case Part::kCharacteristics:
      return m.mutable_characteristics();
    case Part::kSource:
      return m.mutable_source();
  }
  return m.mutable_basic();
}

absl::Status ValidateUpdatePath(const v1::UpdateCustomerRequest& r, const UpdatePath& p,
                                absl::Time now) {
  switch (p.part) {
    case Part::kBasic:
      return p.field ? ValidateBasicField(r.basic(), p.field->number(), "basic", now)
                     : ValidateBasic(r.basic(), "basic", now);
    case Part::kCharacteristics:
      return p.field ? ValidateCharacteristicsField(r.characteristics(), p.field->number(),
                                                    "characteristics")
                     : ValidateCharacteristics(r.characteristics(), "characteristics");
    case Part::kSource:
      return p.field ? ValidateSourceField(r.source(), p.field->number(), "source")
                     : ValidateSource(r.source(), "source");
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Lookups

int ContactIndex(const v1::Customer& s, std::string_view id) {
  for (int i = 0; i < s.contacts_size(); ++i) {
    if (s.contacts(i).contact_id() == id) return i;
  }
  return -1;
}

int AgreementIndex(const v1::Customer& s, std::string_view id) {
  for (int i = 0; i < s.agreements_size(); ++i) {
    if (s.agreements(i).agreement_id() == id) return i;
  }
  return -1;
}

int GrantIndex(const v1::Customer& s, std::string_view subject) {
  for (int i = 0; i < s.access_grants_size(); ++i) {
    if (s.access_grants(i).subject() == subject) return i;
  }
  return -1;
}

template <typename T>
void EraseIf(google::protobuf::RepeatedPtrField<T>* field,
             const std::function<bool(const T&)>& pred) {
  field->erase(std::remove_if(field->begin(), field->end(), pred), field->end());
}

constexpr absl::Duration kMaxGrantDuration = absl::Hours(24 * 366);

}  // namespace

// ---------------------------------------------------------------------------
// Decisions

absl::StatusOr<Events> DecideRegister(const v1::RegisterCustomerRequest& request,
                                      std::string_view customer_id, const DecideContext& ctx) {
  if (customer_id.empty()) return InvalidField("customer_id", "required");
  RETURN_IF_ERROR(ValidateBasic(request.basic(), "basic", ctx.now));
  RETURN_IF_ERROR(ValidateCharacteristics(request.characteristics(), "characteristics"));
  RETURN_IF_ERROR(ValidateSource(request.source(), "source"));
  RETURN_IF_ERROR(
      ValidateEnum("lifecycle", request.lifecycle(), v1::Lifecycle_IsValid, Presence::kOptional));
  if (request.lifecycle() == v1::LIFECYCLE_CHURNED) {
    return InvalidField("lifecycle", "cannot register as churned");
  }
  RETURN_IF_ERROR(ValidateRequiredText("owner", request.owner(), kMaxIdLength));
  RETURN_IF_ERROR(ValidateRequiredText("region", request.region(), kMaxIdLength));
  for (int i = 0; i < request.contacts_size(); ++i) {
    RETURN_IF_ERROR(ValidateContact(request.contacts(i), Indexed("contacts", i)));
  }

  Events events;
  v1::CustomerEvent& first = events.emplace_back(NewEvent(customer_id));
  v1::CustomerRegistered& registered = *first.mutable_registered();
  *registered.mutable_basic() = request.basic();
  NormalizeBasic(*registered.mutable_basic());
  if (request.has_characteristics()) {
    *registered.mutable_characteristics() = request.characteristics();
  }
  if (request.has_source()) *registered.mutable_source() = request.source();
  registered.set_lifecycle(request.lifecycle() == v1::LIFECYCLE_UNSPECIFIED
                               ? v1::LIFECYCLE_POTENTIAL
                               : request.lifecycle());
  registered.set_owner(request.owner());
  registered.set_region(request.region());
  for (const v1::Contact& requested : request.contacts()) {
    ASSIGN_OR_RETURN(std::string id, NewPartId(ctx));
    v1::CustomerEvent& added = events.emplace_back(NewEvent(customer_id));
    v1::Contact& contact = *added.mutable_contact_added()->mutable_contact();
    contact = requested;
    contact.set_contact_id(std::move(id));
    NormalizeContact(contact);
  }
  return events;
}

absl::StatusOr<Events> DecideUpdate(const v1::Customer& state,
                                    const v1::UpdateCustomerRequest& request,
                                    const DecideContext& ctx) {
  RETURN_IF_ERROR(RequireCustomer(state));
  if (request.update_paths().empty()) return InvalidField("update_paths", "required");
  std::vector<UpdatePath> parsed;
  for (int i = 0; i < request.update_paths_size(); ++i) {
    std::optional<UpdatePath> path = ParseUpdatePath(request.update_paths(i));
    if (!path) {
      return InvalidField(Indexed("update_paths", i), "unknown path " + request.update_paths(i));
    }
    parsed.push_back(*std::move(path));
  }
  // Drop repeated paths and field paths covered by a whole-part path (linear
  // in the number of paths: a request may carry many).
  std::set<Part> whole_parts;
  for (const UpdatePath& p : parsed) {
    if (p.field == nullptr) whole_parts.insert(p.part);
  }
  std::set<std::pair<Part, const FieldDescriptor*>> seen;
  std::vector<UpdatePath> paths;
  for (const UpdatePath& p : parsed) {
    if (p.field != nullptr && whole_parts.count(p.part) > 0) continue;
    if (seen.insert({p.part, p.field}).second) paths.push_back(p);
  }
  for (const UpdatePath& p : paths) RETURN_IF_ERROR(ValidateUpdatePath(request, p, ctx.now));

  v1::UpdateCustomerRequest values = request;  // the new values, normalized
  NormalizeBasic(*values.mutable_basic());
  v1::CustomerEvent event = NewEvent(state.customer_id());
  v1::CustomerUpdated& updated = *event.mutable_updated();
  for (const UpdatePath& p : paths) {
    if (SameAt(PartOf(state, p.part), PartOf(values, p.part), p.field)) continue;
    updated.add_paths(p.text);
    CopyField(PartOf(values, p.part), p.field, MutablePartOf(updated, p.part));
  }
  if (updated.paths().empty()) return Events{};  // nothing changes
  return Events{std::move(event)};
}

absl::StatusOr<Events> DecideAddContact(const v1::Customer& state,
                                        const v1::AddContactRequest& request,
                                        const DecideContext& ctx) {
  RETURN_IF_ERROR(RequireCustomer(state));
  RETURN_IF_ERROR(ValidateContact(request.contact(), "contact"));
  if (state.contacts_size() >= kMaxContacts) {
    return RefusedField("contacts", absl::StrCat("a customer has at most ", kMaxContacts,
                                                 " contacts; remove one first"));
  }
  ASSIGN_OR_RETURN(std::string id, NewPartId(ctx));
  v1::CustomerEvent event = NewEvent(state.customer_id());
  v1::Contact& contact = *event.mutable_contact_added()->mutable_contact();
  contact = request.contact();
  contact.set_contact_id(std::move(id));
  NormalizeContact(contact);
  return Events{std::move(event)};
}

absl::StatusOr<Events> DecideUpdateContact(const v1::Customer& state,
                                           const v1::UpdateContactRequest& request,
                                           const DecideContext& ctx) {
  RETURN_IF_ERROR(RequireCustomer(state));
  const std::string& id = request.contact().contact_id();
  if (id.empty()) return InvalidField("contact.contact_id", "required");
  RETURN_IF_ERROR(ValidateContact(request.contact(), "contact"));
  const int index = ContactIndex(state, id);
  if (index < 0) return FieldNotFound("contact.contact_id", "no contact " + id);
  v1::Contact next = request.contact();
  NormalizeContact(next);
  if (MessageDifferencer::Equivalent(state.contacts(index), next)) return Events{};
  v1::CustomerEvent event = NewEvent(state.customer_id());
  *event.mutable_contact_updated()->mutable_contact() = std::move(next);
  return Events{std::move(event)};
}

absl::StatusOr<Events> DecideRemoveContact(const v1::Customer& state,
                                           const v1::RemoveContactRequest& request,
                                           const DecideContext& ctx) {
  RETURN_IF_ERROR(RequireCustomer(state));
  if (request.contact_id().empty()) return InvalidField("contact_id", "required");
  if (ContactIndex(state, request.contact_id()) < 0) {
    return FieldNotFound("contact_id", "no contact " + request.contact_id());
  }
  v1::CustomerEvent event = NewEvent(state.customer_id());
  event.mutable_contact_removed()->set_contact_id(request.contact_id());
  return Events{std::move(event)};
}

absl::StatusOr<Events> DecideRecordTransaction(const v1::Customer& state,
                                               const v1::RecordTransactionRequest& request,
                                               const DecideContext& ctx) {
  RETURN_IF_ERROR(RequireCustomer(state));
  const v1::Transaction& t = request.transaction();
  RETURN_IF_ERROR(ValidateEnum("transaction.party", t.party(), v1::TransactionParty_IsValid,
                               Presence::kRequired));
  if (t.party() == v1::TRANSACTION_PARTY_COMPETITOR) {
    if (IsBlank(t.competitor())) {
      return InvalidField("transaction.competitor", "required for a competitor's transaction");
    }
    RETURN_IF_ERROR(ValidateRequiredText("transaction.competitor", t.competitor(), kMaxNameLength));
  } else if (!t.competitor().empty()) {
    return InvalidField("transaction.competitor", "only for a competitor's transaction");
  }
  RETURN_IF_ERROR(ValidateText("transaction.cooperation_mode", t.cooperation_mode()));
  RETURN_IF_ERROR(
      ValidateMoney("transaction.amount", t.amount(), {.required = true, .non_negative = true}));
  RETURN_IF_ERROR(ValidateText("transaction.payment_method", t.payment_method()));
  RETURN_IF_ERROR(ValidateText("transaction.contract_number", t.contract_number()));
  if (t.date().empty()) return InvalidField("transaction.date", "required");
  RETURN_IF_ERROR(ValidatePastDate("transaction.date", t.date(), ctx.now));
  RETURN_IF_ERROR(ValidatePastDate("transaction.paid_date", t.paid_date(), ctx.now));
  // Valid "YYYY-MM-DD" strings order like the dates they name.
  if (!t.paid_date().empty() && t.paid_date() < t.date()) {
    return InvalidField("transaction.paid_date", "must not be before transaction.date");
  }
  ASSIGN_OR_RETURN(std::string id, NewPartId(ctx));
  v1::CustomerEvent event = NewEvent(state.customer_id());
  v1::Transaction& recorded = *event.mutable_transaction_recorded()->mutable_transaction();
  recorded = t;
  recorded.set_transaction_id(std::move(id));
  recorded.set_competitor(Trimmed(t.competitor()));
  return Events{std::move(event)};
}

absl::StatusOr<Events> DecideRecordAgreement(const v1::Customer& state,
                                             const v1::RecordAgreementRequest& request,
                                             const DecideContext& ctx) {
  RETURN_IF_ERROR(RequireCustomer(state));
  const v1::Agreement& a = request.agreement();
  RETURN_IF_ERROR(ValidateRequiredText("agreement.title", a.title(), kMaxNameLength));
  RETURN_IF_ERROR(ValidateEnum("agreement.status", a.status(), v1::AgreementStatus_IsValid,
                               Presence::kOptional));
  if (a.status() != v1::AGREEMENT_STATUS_UNSPECIFIED &&
      a.status() != v1::AGREEMENT_STATUS_DRAFTED && a.status() != v1::AGREEMENT_STATUS_SIGNED) {
    return InvalidField("agreement.status",
                   "must be DRAFTED or SIGNED when recording, not " + Name(a.status()));
  }
  RETURN_IF_ERROR(ValidateDate("agreement.start_date", a.start_date()));
  RETURN_IF_ERROR(ValidateDate("agreement.end_date", a.end_date()));
  if (!a.start_date().empty() && !a.end_date().empty() && a.end_date() < a.start_date()) {
    return InvalidField("agreement.end_date", "must not be before agreement.start_date");
  }
  RETURN_IF_ERROR(
      ValidateMoney("agreement.amount", a.amount(), {.required = false, .non_negative = true}));
  RETURN_IF_ERROR(ValidateText("agreement.payment_terms", a.payment_terms()));
  RETURN_IF_ERROR(ValidateText("agreement.status_note", a.status_note()));
  ASSIGN_OR_RETURN(std::string id, NewPartId(ctx));
  v1::CustomerEvent event = NewEvent(state.customer_id());
  v1::Agreement& recorded = *event.mutable_agreement_recorded()->mutable_agreement();
  recorded = a;
  recorded.set_agreement_id(std::move(id));
  recorded.set_title(Trimmed(a.title()));
  if (recorded.status() == v1::AGREEMENT_STATUS_UNSPECIFIED) {
    recorded.set_status(v1::AGREEMENT_STATUS_DRAFTED);
  }
  return Events{std::move(event)};
}

absl::StatusOr<Events> DecideChangeAgreementStatus(const v1::Customer& state,
                                                   const v1::ChangeAgreementStatusRequest& request,
                                                   const DecideContext& ctx) {
  RETURN_IF_ERROR(RequireCustomer(state));
  const std::string& id = request.agreement_id();
  if (id.empty()) return InvalidField("agreement_id", "required");
  RETURN_IF_ERROR(
      ValidateEnum("status", request.status(), v1::AgreementStatus_IsValid, Presence::kRequired));
  RETURN_IF_ERROR(ValidateText("note", request.note()));
  const int index = AgreementIndex(state, id);
  if (index < 0) return FieldNotFound("agreement_id", "no agreement " + id);
  const v1::AgreementStatus from = state.agreements(index).status();
  const v1::AgreementStatus to = request.status();
  if (from == to && !AgreementTransitionAllowed(from, to)) {
    return RefusedField("status", "agreement " + id + " is already " + Name(from));
  }
  if (!AgreementTransitionAllowed(from, to)) {
    return RefusedField("status",
                   "agreement " + id + " is " + Name(from) + ", cannot move to " + Name(to));
  }
  v1::CustomerEvent event = NewEvent(state.customer_id());
  v1::AgreementStatusChanged& changed = *event.mutable_agreement_status_changed();
  changed.set_agreement_id(id);
  changed.set_from(from);
  changed.set_to(to);
  changed.set_note(request.note());
  return Events{std::move(event)};
}

absl::StatusOr<Events> DecideChangeLifecycle(const v1::Customer& state,
                                             const v1::ChangeLifecycleRequest& request,
                                             const DecideContext& ctx) {
  RETURN_IF_ERROR(RequireCustomer(state));
  const v1::Lifecycle to = request.lifecycle();
  RETURN_IF_ERROR(ValidateEnum("lifecycle", to, v1::Lifecycle_IsValid, Presence::kRequired));
  RETURN_IF_ERROR(ValidateText("churn_reason", request.churn_reason()));
  if (to == v1::LIFECYCLE_CHURNED && IsBlank(request.churn_reason())) {
    return InvalidField("churn_reason", "required when churning");
  }
  if (to != v1::LIFECYCLE_CHURNED && !request.churn_reason().empty()) {
    return InvalidField("churn_reason", "only allowed when churning");
  }
  const v1::Lifecycle from = state.lifecycle();
  if (from == to) return RefusedField("lifecycle", "already " + Name(from));
  if (!LifecycleTransitionAllowed(from, to)) {
    return RefusedField("lifecycle", "cannot move from " + Name(from) + " to " + Name(to));
  }
  v1::CustomerEvent event = NewEvent(state.customer_id());
  v1::LifecycleChanged& changed = *event.mutable_lifecycle_changed();
  changed.set_from(from);
  changed.set_to(to);
  changed.set_churn_reason(request.churn_reason());
  changed.set_win_back(from == v1::LIFECYCLE_CHURNED);
  return Events{std::move(event)};
}

absl::StatusOr<Events> DecideConvertOnOpportunityWon(const v1::Customer& state,
                                                     std::string_view opportunity_id,
                                                     const DecideContext& ctx) {
  RETURN_IF_ERROR(RequireCustomer(state));
  RETURN_IF_ERROR(ValidateRequiredText("opportunity_id", opportunity_id, kMaxIdLength));
  const v1::Lifecycle from = state.lifecycle();
  if (from != v1::LIFECYCLE_POTENTIAL && from != v1::LIFECYCLE_FOLLOWING) return Events{};
  v1::ChangeLifecycleRequest to_cooperating;
  to_cooperating.set_lifecycle(v1::LIFECYCLE_COOPERATING);
  ASSIGN_OR_RETURN(Events events, DecideChangeLifecycle(state, to_cooperating, ctx));
  for (v1::CustomerEvent& e : events) {
    v1::LifecycleChanged& changed = *e.mutable_lifecycle_changed();
    changed.set_reason(absl::StrCat("opportunity ", std::string(opportunity_id), " won"));
    changed.set_opportunity_id(std::string(opportunity_id));
  }
  return events;
}

absl::StatusOr<Events> DecideChurnOnLossConfirmed(const v1::Customer& state,
                                                  std::string_view churn_case_id,
                                                  std::string_view churn_reason,
                                                  const DecideContext& ctx) {
  RETURN_IF_ERROR(RequireCustomer(state));
  RETURN_IF_ERROR(ValidateRequiredText("churn_case_id", churn_case_id, kMaxIdLength));
  if (state.lifecycle() == v1::LIFECYCLE_CHURNED) return Events{};
  v1::ChangeLifecycleRequest to_churned;
  to_churned.set_lifecycle(v1::LIFECYCLE_CHURNED);
  to_churned.set_churn_reason(std::string(churn_reason));
  ASSIGN_OR_RETURN(Events events, DecideChangeLifecycle(state, to_churned, ctx));
  for (v1::CustomerEvent& e : events) {
    v1::LifecycleChanged& changed = *e.mutable_lifecycle_changed();
    changed.set_reason(absl::StrCat("churn case ", std::string(churn_case_id), ": loss confirmed"));
    changed.set_churn_case_id(std::string(churn_case_id));
  }
  return events;
}

absl::StatusOr<Events> DecideAssignOwner(const v1::Customer& state,
                                         const v1::AssignOwnerRequest& request,
                                         const DecideContext& ctx) {
  RETURN_IF_ERROR(RequireCustomer(state));
  const bool keep_owner = IsBlank(request.owner());
  const bool keep_region = IsBlank(request.region());
  if (keep_owner && keep_region) return InvalidField("owner", "owner or region required");
  RETURN_IF_ERROR(ValidateText("owner", request.owner(), kMaxIdLength));
  RETURN_IF_ERROR(ValidateText("region", request.region(), kMaxIdLength));
  RETURN_IF_ERROR(ValidateText("reason", request.reason()));
  const std::string& to_owner = keep_owner ? state.owner() : request.owner();
  const std::string& to_region = keep_region ? state.region() : request.region();
  if (to_owner == state.owner() && to_region == state.region()) {
    return RefusedField("owner",
                   "already the owner and region (" + state.owner() + ", " + state.region() + ")");
  }
  v1::CustomerEvent event = NewEvent(state.customer_id());
  v1::OwnershipChange& change = *event.mutable_owner_assigned()->mutable_change();
  change.set_from_owner(state.owner());
  change.set_from_region(state.region());
  change.set_to_owner(to_owner);
  change.set_to_region(to_region);
  change.set_reason(request.reason());
  change.set_changed_by(ctx.actor);
  *change.mutable_changed_at() = ToProtoTimestamp(ctx.now);
  return Events{std::move(event)};
}

absl::StatusOr<Events> DecideSetVerification(const v1::Customer& state,
                                             const v1::SetVerificationRequest& request,
                                             const DecideContext& ctx) {
  RETURN_IF_ERROR(RequireCustomer(state));
  const v1::VerificationState to = request.verification();
  RETURN_IF_ERROR(
      ValidateEnum("verification", to, v1::VerificationState_IsValid, Presence::kRequired));
  if (to != v1::VERIFICATION_STATE_VERIFIED && to != v1::VERIFICATION_STATE_DISCARDED) {
    return InvalidField("verification", "must be VERIFIED or DISCARDED, not " + Name(to));
  }
  RETURN_IF_ERROR(ValidateText("note", request.note()));
  if (state.verification() == to) return RefusedField("verification", "already " + Name(to));
  v1::CustomerEvent event = NewEvent(state.customer_id());
  v1::VerificationChanged& changed = *event.mutable_verification_changed();
  changed.set_from(state.verification());
  changed.set_to(to);
  changed.set_note(request.note());
  return Events{std::move(event)};
}

absl::StatusOr<Events> DecideGrantAccess(const v1::Customer& state,
                                         const v1::GrantAccessRequest& request,
                                         const DecideContext& ctx) {
  RETURN_IF_ERROR(RequireCustomer(state));
  RETURN_IF_ERROR(ValidateRequiredText("subject", request.subject(), kMaxIdLength));
  if (!request.has_expires_at()) return InvalidField("expires_at", "required");
  RETURN_IF_ERROR(ValidateTimestamp("expires_at", request.expires_at()));
  const absl::Time expires_at = FromProtoTimestamp(request.expires_at());
  if (expires_at <= ctx.now) return InvalidField("expires_at", "must be in the future");
  if (expires_at > ctx.now + kMaxGrantDuration) {
    return InvalidField("expires_at", "at most 366 days ahead");
  }
  RETURN_IF_ERROR(ValidateText("reason", request.reason()));
  v1::CustomerEvent event = NewEvent(state.customer_id());
  v1::AccessGrant& grant = *event.mutable_access_granted()->mutable_grant();
  grant.set_subject(request.subject());
  *grant.mutable_expires_at() = request.expires_at();
  grant.set_granted_by(ctx.actor);
  grant.set_reason(request.reason());
  return Events{std::move(event)};
}

absl::StatusOr<Events> DecideRevokeAccess(const v1::Customer& state,
                                          const v1::RevokeAccessRequest& request,
                                          const DecideContext& ctx) {
  RETURN_IF_ERROR(RequireCustomer(state));
  RETURN_IF_ERROR(ValidateRequiredText("subject", request.subject(), kMaxIdLength));
  if (GrantIndex(state, request.subject()) < 0) {
    return FieldNotFound("subject", "no access grant for " + request.subject());
  }
  v1::CustomerEvent event = NewEvent(state.customer_id());
  v1::AccessRevoked& revoked = *event.mutable_access_revoked();
  revoked.set_subject(request.subject());
  revoked.set_revoked_by(ctx.actor);
  return Events{std::move(event)};
}

namespace {

absl::Status RequirePending(const v1::AccessRequest& pending) {
  if (pending.status() != v1::ACCESS_REQUEST_STATUS_PENDING) {
    return absl::FailedPreconditionError(absl::StrCat(
        "access request ", pending.request_id(), " is ",
        v1::AccessRequestStatus_Name(pending.status()), ", not pending"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Events> DecideRequestAccess(const v1::Customer& state,
                                           const v1::RequestAccessRequest& request,
                                           const std::string& request_id,
                                           const DecideContext& ctx) {
  if (request.customer_id().empty()) return InvalidField("customer_id", "required");
  RETURN_IF_ERROR(ValidateRequiredText("reason", request.reason()));
  if (request.has_requested_until()) {
    RETURN_IF_ERROR(ValidateTimestamp("requested_until", request.requested_until()));
    if (FromProtoTimestamp(request.requested_until()) <= ctx.now) {
      return InvalidField("requested_until", "must be in the future");
    }
  }
  if (state.version() == 0) return Events{};  // no such customer: nothing recorded
  v1::CustomerEvent event = NewEvent(state.customer_id());
  v1::AccessRequest& r = *event.mutable_access_requested()->mutable_request();
  r.set_request_id(request_id);
  r.set_customer_id(state.customer_id());
  r.set_subject(ctx.actor);
  r.set_reason(request.reason());
  if (request.has_requested_until()) *r.mutable_requested_until() = request.requested_until();
  *r.mutable_requested_at() = ToProtoTimestamp(ctx.now);
  r.set_status(v1::ACCESS_REQUEST_STATUS_PENDING);
  return Events{std::move(event)};
}

absl::StatusOr<Events> DecideApproveAccessRequest(const v1::Customer& state,
                                                  const v1::AccessRequest& pending,
                                                  const v1::ApproveAccessRequestRequest& request,
                                                  const DecideContext& ctx) {
  RETURN_IF_ERROR(RequireCustomer(state));
  RETURN_IF_ERROR(RequirePending(pending));
  v1::GrantAccessRequest grant;
  grant.set_customer_id(state.customer_id());
  grant.set_subject(pending.subject());
  if (request.has_expires_at()) *grant.mutable_expires_at() = request.expires_at();
  grant.set_reason(pending.reason());
  ASSIGN_OR_RETURN(Events granted, DecideGrantAccess(state, grant, ctx));
  v1::CustomerEvent event = NewEvent(state.customer_id());
  v1::AccessRequest& r = *event.mutable_access_request_approved()->mutable_request();
  r = pending;
  r.set_status(v1::ACCESS_REQUEST_STATUS_APPROVED);
  r.set_decided_by(ctx.actor);
  *r.mutable_decided_at() = ToProtoTimestamp(ctx.now);
  *r.mutable_expires_at() = request.expires_at();
  Events events{std::move(event)};
  for (v1::CustomerEvent& e : granted) events.push_back(std::move(e));
  return events;
}

absl::StatusOr<Events> DecideDenyAccessRequest(const v1::Customer& state,
                                               const v1::AccessRequest& pending,
                                               const v1::DenyAccessRequestRequest& request,
                                               const DecideContext& ctx) {
  RETURN_IF_ERROR(RequireCustomer(state));
  RETURN_IF_ERROR(ValidateRequiredText("reason", request.reason()));
  RETURN_IF_ERROR(RequirePending(pending));
  v1::CustomerEvent event = NewEvent(state.customer_id());
  v1::AccessRequest& r = *event.mutable_access_request_denied()->mutable_request();
  r = pending;
  r.set_status(v1::ACCESS_REQUEST_STATUS_DENIED);
  r.set_decided_by(ctx.actor);
  *r.mutable_decided_at() = ToProtoTimestamp(ctx.now);
  r.set_decision_reason(request.reason());
  return Events{std::move(event)};
}

// ---------------------------------------------------------------------------
// Folding

void Apply(v1::Customer& state, const v1::CustomerEvent& event, const EventMeta& meta) {
  const google::protobuf::Timestamp occurred_at = ToProtoTimestamp(meta.occurred_at);
  switch (event.kind_case()) {
    case v1::CustomerEvent::kRegistered: {
      const v1::CustomerRegistered& e = event.registered();
      state.set_customer_id(event.customer_id());
      *state.mutable_basic() = e.basic();
      *state.mutable_characteristics() = e.characteristics();
      *state.mutable_source() = e.source();
      state.set_lifecycle(e.lifecycle() == v1::LIFECYCLE_UNSPECIFIED ? v1::LIFECYCLE_POTENTIAL
                                                                     : e.lifecycle());
      state.set_verification(v1::VERIFICATION_STATE_UNVERIFIED);
      state.set_owner(e.owner());
      state.set_region(e.region());
      v1::OwnershipChange& first = *state.add_ownership_history();
      first.set_to_owner(e.owner());
      first.set_to_region(e.region());
      first.set_changed_by(meta.actor);
      *first.mutable_changed_at() = occurred_at;
      *state.mutable_created_at() = occurred_at;
      break;
    }
    case v1::CustomerEvent::kUpdated: {
      const v1::CustomerUpdated& e = event.updated();
      for (const std::string& text : e.paths()) {
        const std::optional<UpdatePath> path = ParseUpdatePath(text);
        if (!path) continue;  // a path of a newer schema: nothing we can fold
        CopyField(PartOf(e, path->part), path->field, MutablePartOf(state, path->part));
      }
      break;
    }
    case v1::CustomerEvent::kContactAdded: {
      const v1::Contact& contact = event.contact_added().contact();
      const int index = ContactIndex(state, contact.contact_id());
      if (index >= 0) {
        *state.mutable_contacts(index) = contact;
      } else {
        *state.add_contacts() = contact;
      }
      break;
    }
    case v1::CustomerEvent::kContactUpdated: {
      const v1::Contact& contact = event.contact_updated().contact();
      const int index = ContactIndex(state, contact.contact_id());
      if (index >= 0) *state.mutable_contacts(index) = contact;
      break;
    }
    case v1::CustomerEvent::kContactRemoved: {
      const std::string& id = event.contact_removed().contact_id();
      EraseIf<v1::Contact>(state.mutable_contacts(),
                           [&](const v1::Contact& c) { return c.contact_id() == id; });
      break;
    }
    case v1::CustomerEvent::kTransactionRecorded:
      *state.add_transactions() = event.transaction_recorded().transaction();
      break;
    case v1::CustomerEvent::kAgreementRecorded: {
      v1::Agreement& agreement = *state.add_agreements();
      agreement = event.agreement_recorded().agreement();
      if (agreement.status() == v1::AGREEMENT_STATUS_UNSPECIFIED) {
        agreement.set_status(v1::AGREEMENT_STATUS_DRAFTED);
      }
      break;
    }
    case v1::CustomerEvent::kAgreementStatusChanged: {
      const v1::AgreementStatusChanged& e = event.agreement_status_changed();
      const int index = AgreementIndex(state, e.agreement_id());
      if (index >= 0) {
        state.mutable_agreements(index)->set_status(e.to());
        state.mutable_agreements(index)->set_status_note(e.note());
      }
      break;
    }
    case v1::CustomerEvent::kLifecycleChanged: {
      const v1::LifecycleChanged& e = event.lifecycle_changed();
      state.set_lifecycle(e.to());
      state.set_churn_reason(e.to() == v1::LIFECYCLE_CHURNED ? e.churn_reason() : "");
      break;
    }
    case v1::CustomerEvent::kOwnerAssigned: {
      const v1::OwnershipChange& change = event.owner_assigned().change();
      *state.add_ownership_history() = change;
      state.set_owner(change.to_owner());
      state.set_region(change.to_region());
      break;
    }
    case v1::CustomerEvent::kVerificationChanged:
      state.set_verification(event.verification_changed().to());
      break;
    case v1::CustomerEvent::kAccessGranted: {
      const v1::AccessGrant& grant = event.access_granted().grant();
      EraseIf<v1::AccessGrant>(state.mutable_access_grants(), [&](const v1::AccessGrant& g) {
        return g.subject() == grant.subject();
      });
      *state.add_access_grants() = grant;
      break;
    }
    case v1::CustomerEvent::kAccessRevoked: {
      const std::string& subject = event.access_revoked().subject();
      EraseIf<v1::AccessGrant>(state.mutable_access_grants(),
                               [&](const v1::AccessGrant& g) { return g.subject() == subject; });
      break;
    }
    // Requests live in their own rows (projection); an approval's grant is the
    // AccessGranted that follows it.
    case v1::CustomerEvent::kAccessRequested:
    case v1::CustomerEvent::kAccessRequestApproved:
    case v1::CustomerEvent::kAccessRequestDenied:
    case v1::CustomerEvent::KIND_NOT_SET:
      break;
  }
  state.set_version(meta.version);
  *state.mutable_updated_at() = occurred_at;
}

std::string EventType(const v1::CustomerEvent& event) {
  const google::protobuf::OneofDescriptor* kind =
      v1::CustomerEvent::descriptor()->FindOneofByName("kind");
  const FieldDescriptor* field = event.GetReflection()->GetOneofFieldDescriptor(event, kind);
  if (field == nullptr || field->message_type() == nullptr) return "";
  return field->message_type()->full_name();
}

// ---------------------------------------------------------------------------
// Normalization

namespace {

// Decodes the code point at text[i] into *code_point; returns its length in bytes,
// or 0 when the bytes there are not valid UTF-8.
size_t DecodeAt(std::string_view text, size_t i, uint32_t* code_point) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data() + i);
  const size_t n = bytes[0] < 0x80                        ? 1
                   : bytes[0] >= 0xC2 && bytes[0] <= 0xDF ? 2
                   : bytes[0] >= 0xE0 && bytes[0] <= 0xEF ? 3
                   : bytes[0] >= 0xF0 && bytes[0] <= 0xF4 ? 4
                                                          : 0;
  // Utf8Length also rejects bad continuations, overlong forms and surrogates.
  if (n == 0 || i + n > text.size() || Utf8Length(text.substr(i, n)) != size_t{1}) return 0;
  switch (n) {
    case 1:
      *code_point = bytes[0];
      break;
    case 2:
      *code_point = ((bytes[0] & 0x1Fu) << 6) | (bytes[1] & 0x3Fu);
      break;
    case 3:
      *code_point = ((bytes[0] & 0x0Fu) << 12) | ((bytes[1] & 0x3Fu) << 6) | (bytes[2] & 0x3Fu);
      break;
    default:
      *code_point = ((bytes[0] & 0x07u) << 18) | ((bytes[1] & 0x3Fu) << 12) |
                    ((bytes[2] & 0x3Fu) << 6) | (bytes[3] & 0x3Fu);
  }
  return n;
}

// Walks `text` code point by code point, folding full-width ASCII forms
// (U+FF01..U+FF5E) to ASCII and U+00A0 / U+3000 to ' '. Calls
// on_ascii(char) for ASCII results and on_other(code_point, bytes) otherwise;
// invalid bytes are passed through one by one as on_other(0, byte).
template <typename Ascii, typename Other>
void FoldWidth(std::string_view text, Ascii on_ascii, Other on_other) {
  size_t i = 0;
  while (i < text.size()) {
    uint32_t cp = 0;
    size_t n = DecodeAt(text, i, &cp);
    if (n == 0) {
      on_other(0, text.substr(i, 1));
      ++i;
      continue;
    }
    if (cp >= 0xFF01 && cp <= 0xFF5E) cp -= 0xFEE0;
    if (cp == 0x00A0 || cp == 0x3000) cp = ' ';
    if (cp < 0x80) {
      on_ascii(static_cast<char>(cp));
    } else {
      on_other(cp, text.substr(i, n));
    }
    i += n;
  }
}

bool IsSpaceChar(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

}  // namespace

std::string NormalizeName(std::string_view name) {
  std::string out;
  bool pending_space = false;
  auto emit = [&](std::string_view piece) {
    if (pending_space && !out.empty()) out += ' ';
    pending_space = false;
    out += piece;
  };
  FoldWidth(
      name,
      [&](char c) {
        if (IsSpaceChar(c) || c == ',') {
          pending_space = true;
        } else if (c == '.') {
          // dropped: "Co., Ltd." == "Co, Ltd" == "co ltd"
        } else {
          if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
          emit(std::string_view(&c, 1));
        }
      },
      [&](uint32_t cp, std::string_view bytes) {
        if (cp == 0x3001 || cp == 0x3002) return;  // 、 。
        emit(bytes);
      });
  return out;
}

std::string NormalizeRegistrationNumber(std::string_view number) {
  std::string out;
  FoldWidth(
      number,
      [&](char c) {
        if (IsSpaceChar(c) || c == '-') return;
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
        out += c;
      },
      [&](uint32_t, std::string_view bytes) { out += bytes; });
  return out;
}

// ---------------------------------------------------------------------------
// Transitions

bool LifecycleTransitionAllowed(v1::Lifecycle from, v1::Lifecycle to) {
  switch (from) {
    case v1::LIFECYCLE_POTENTIAL:
      return to == v1::LIFECYCLE_FOLLOWING || to == v1::LIFECYCLE_COOPERATING ||
             to == v1::LIFECYCLE_CHURNED;
    case v1::LIFECYCLE_FOLLOWING:
      return to == v1::LIFECYCLE_COOPERATING || to == v1::LIFECYCLE_CHURNED ||
             to == v1::LIFECYCLE_POTENTIAL;
    case v1::LIFECYCLE_COOPERATING:
      return to == v1::LIFECYCLE_FOLLOWING || to == v1::LIFECYCLE_CHURNED;
    case v1::LIFECYCLE_CHURNED:
      return to == v1::LIFECYCLE_FOLLOWING || to == v1::LIFECYCLE_COOPERATING;
    default:
      return false;
  }
}

bool AgreementTransitionAllowed(v1::AgreementStatus from, v1::AgreementStatus to) {
  switch (from) {
    case v1::AGREEMENT_STATUS_DRAFTED:
      return to == v1::AGREEMENT_STATUS_LEGAL_REVIEW || to == v1::AGREEMENT_STATUS_TERMINATED;
    case v1::AGREEMENT_STATUS_LEGAL_REVIEW:
      return to == v1::AGREEMENT_STATUS_DRAFTED || to == v1::AGREEMENT_STATUS_SIGNED;
    case v1::AGREEMENT_STATUS_SIGNED:
      return to == v1::AGREEMENT_STATUS_CHANGED || to == v1::AGREEMENT_STATUS_TERMINATED;
    case v1::AGREEMENT_STATUS_CHANGED:
      return to == v1::AGREEMENT_STATUS_CHANGED || to == v1::AGREEMENT_STATUS_TERMINATED;
    default:
      return false;  // TERMINATED is final
  }
}

}  // namespace crm::customer
