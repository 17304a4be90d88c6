// Given/when/then tests of the customer aggregate: given these events, when this
// command, then these events (or this error). Time is fixed and ids come from a
// counter ("id-1", "id-2", ...), so every expected event is exact.
#include "crm/customer/domain/customer_aggregate.h"

#include <algorithm>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "common/testing/proto_testing.h"
#include "domain/testing/aggregate_test.h"

namespace crm::customer {
namespace {

using ::crm::testing::DumpMessages;
using ::crm::testing::EqualsProto;
using ::crm::testing::TextProto;

using ::google::protobuf::TextFormat;
using ::testing::ValuesIn;
using Code = absl::StatusCode;

constexpr char kCustomerId[] = "cust-1";
// Text protos below spell these as { seconds: 1710489600 } and { seconds: 1710403200 }.
const absl::Time kNow = absl::FromUnixSeconds(1710489600);      // 2024-03-15T08:00:00Z
const absl::Time kEarlier = absl::FromUnixSeconds(1710403200);  // one day before

std::string Long(size_t n) { return std::string(n, 'x'); }

// An event of customer kCustomerId (unless the text names another).
v1::CustomerEvent Event(const std::string& text) {
  v1::CustomerEvent event = TextProto<v1::CustomerEvent>(text);
  if (event.customer_id().empty()) event.set_customer_id(kCustomerId);
  return event;
}

// One Decide overload per command, so When() takes any request.
absl::StatusOr<Events> Decide(const v1::Customer&, const v1::RegisterCustomerRequest& r,
                              const DecideContext& c) {
  return DecideRegister(r, kCustomerId, c);
}
absl::StatusOr<Events> Decide(const v1::Customer& s, const v1::UpdateCustomerRequest& r,
                              const DecideContext& c) {
  return DecideUpdate(s, r, c);
}
absl::StatusOr<Events> Decide(const v1::Customer& s, const v1::AddContactRequest& r,
                              const DecideContext& c) {
  return DecideAddContact(s, r, c);
}
absl::StatusOr<Events> Decide(const v1::Customer& s, const v1::UpdateContactRequest& r,
                              const DecideContext& c) {
  return DecideUpdateContact(s, r, c);
}
absl::StatusOr<Events> Decide(const v1::Customer& s, const v1::RemoveContactRequest& r,
                              const DecideContext& c) {
  return DecideRemoveContact(s, r, c);
}
absl::StatusOr<Events> Decide(const v1::Customer& s, const v1::RecordTransactionRequest& r,
                              const DecideContext& c) {
  return DecideRecordTransaction(s, r, c);
}
absl::StatusOr<Events> Decide(const v1::Customer& s, const v1::RecordAgreementRequest& r,
                              const DecideContext& c) {
  return DecideRecordAgreement(s, r, c);
}
absl::StatusOr<Events> Decide(const v1::Customer& s, const v1::ChangeAgreementStatusRequest& r,
                              const DecideContext& c) {
  return DecideChangeAgreementStatus(s, r, c);
}
absl::StatusOr<Events> Decide(const v1::Customer& s, const v1::ChangeLifecycleRequest& r,
                              const DecideContext& c) {
  return DecideChangeLifecycle(s, r, c);
}
absl::StatusOr<Events> Decide(const v1::Customer& s, const v1::AssignOwnerRequest& r,
                              const DecideContext& c) {
  return DecideAssignOwner(s, r, c);
}
absl::StatusOr<Events> Decide(const v1::Customer& s, const v1::SetVerificationRequest& r,
                              const DecideContext& c) {
  return DecideSetVerification(s, r, c);
}
absl::StatusOr<Events> Decide(const v1::Customer& s, const v1::GrantAccessRequest& r,
                              const DecideContext& c) {
  return DecideGrantAccess(s, r, c);
}
absl::StatusOr<Events> Decide(const v1::Customer& s, const v1::RevokeAccessRequest& r,
                              const DecideContext& c) {
  return DecideRevokeAccess(s, r, c);
}

// --- Events the tests start from --------------------------------------------

v1::CustomerEvent Registered() {
  return Event(
      R"pb(registered {
             basic { name: "Acme Ltd" address: "1 Harbour Road" website: "https://acme.example" }
             lifecycle: LIFECYCLE_POTENTIAL
             owner: "rep-1"
             region: "north"
           })pb");
}

v1::CustomerEvent ContactAdded(const std::string& id, const std::string& name) {
  return Event("contact_added { contact { contact_id: '" + id +
               "' title: 'CEO' personal { name: '" + name +
               "' email: 'li@acme.example' phone: '+86 10 8888 6666' } } }");
}

v1::CustomerEvent AgreementRecorded(const std::string& id, v1::AgreementStatus status) {
  return Event("agreement_recorded { agreement { agreement_id: '" + id +
               "' title: 'Framework' status: " + v1::AgreementStatus_Name(status) + " } }");
}

v1::CustomerEvent LifecycleChanged(v1::Lifecycle from, v1::Lifecycle to) {
  return Event("lifecycle_changed { from: " + v1::Lifecycle_Name(from) +
               " to: " + v1::Lifecycle_Name(to) +
               (to == v1::LIFECYCLE_CHURNED ? " churn_reason: 'price'" : "") + " }");
}

v1::CustomerEvent Granted(const std::string& subject, int64_t expires_at_seconds) {
  return Event("access_granted { grant { subject: '" + subject + "' expires_at { seconds: " +
               std::to_string(expires_at_seconds) + " } granted_by: 'gm' reason: 'audit' } }");
}

// --- The fixture --------------------------------------------------------------

struct CustomerTraits {
  using State = v1::Customer;
  using Event = v1::CustomerEvent;
  using Context = DecideContext;
  static void Apply(State& s, const Event& e, const EventMeta& m) { customer::Apply(s, e, m); }
  static void CheckIds(const Event& e) { EXPECT_EQ(e.customer_id(), kCustomerId); }
};

// The shared given/when/then fixture (libs/domain/testing), with this
// aggregate's commands: given events are folded a day ago by "bob"; commands run
// at kNow as "alice" with ids from a counter.
class CustomerTest : public domain::testing::AggregateTest<CustomerTraits> {
 protected:
  CustomerTest() {
    given_at_ = kEarlier;
    ctx_.actor = "alice";
    ctx_.now = kNow;
    ctx_.new_id = [this] { return "id-" + std::to_string(++ids_issued_); };
  }

  void GivenRegistered() { Given({Registered()}); }

  using AggregateTest::When;
  template <typename Request>
  void When(const Request& request) {
    When(Decide(state_, request, ctx_));
  }

  void ThenCustomerNotFound() { ThenFailed(Code::kNotFound, "customer not found"); }

  int ids_issued_ = 0;
};

// A request that must be refused: the command's valid base request with
// `merge` (text format) merged in.
struct BadCase {
  std::string name;
  std::string merge;
  std::string field;
  Code code = Code::kInvalidArgument;
  std::string message = "";  // exact message, when it matters
};

std::string CaseName(const ::testing::TestParamInfo<BadCase>& info) { return info.param.name; }
void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }

template <typename Request>
class BadInputTest : public CustomerTest, public ::testing::WithParamInterface<BadCase> {
 protected:
  void Run(const std::string& base) {
    Request request = TextProto<Request>(base);
    ASSERT_TRUE(TextFormat::MergeFromString(GetParam().merge, &request)) << GetParam().merge;
    const uint64_t version = state_.version();
    When(request);
    ThenError(GetParam().code, GetParam().field, GetParam().message);
    EXPECT_EQ(state_.version(), version);
  }
};

// =============================================================================
// Every command needs an existing customer
// =============================================================================

TEST_F(CustomerTest, EveryCommandButRegisterNeedsAnExistingCustomer) {
  When(TextProto<v1::UpdateCustomerRequest>(R"pb(update_paths: "basic.address"
                                             basic { address: "x" })pb"));
  ThenCustomerNotFound();
  When(TextProto<v1::AddContactRequest>(R"pb(contact { personal { name: "Li" } })pb"));
  ThenCustomerNotFound();
  When(TextProto<v1::UpdateContactRequest>(R"pb(contact {
                                              contact_id: "c-1"
                                              personal { name: "Li" }
                                            })pb"));
  ThenCustomerNotFound();
  When(TextProto<v1::RemoveContactRequest>(R"pb(contact_id: "c-1")pb"));
  ThenCustomerNotFound();
  When(TextProto<v1::RecordTransactionRequest>(R"pb(transaction {
                                                  party: TRANSACTION_PARTY_OWN_COMPANY
                                                  amount { currency_code: "CNY" }
                                                  date: "2024-01-01"
                                                })pb"));
  ThenCustomerNotFound();
  When(TextProto<v1::RecordAgreementRequest>(R"pb(agreement { title: "T" })pb"));
  ThenCustomerNotFound();
  When(TextProto<v1::ChangeAgreementStatusRequest>(R"pb(agreement_id: "a-1"
                                                    status: AGREEMENT_STATUS_SIGNED)pb"));
  ThenCustomerNotFound();
  When(TextProto<v1::ChangeLifecycleRequest>(R"pb(lifecycle: LIFECYCLE_FOLLOWING)pb"));
  ThenCustomerNotFound();
  When(TextProto<v1::AssignOwnerRequest>(R"pb(owner: "rep-2")pb"));
  ThenCustomerNotFound();
  When(TextProto<v1::SetVerificationRequest>(R"pb(verification: VERIFICATION_STATE_VERIFIED)pb"));
  ThenCustomerNotFound();
  When(TextProto<v1::GrantAccessRequest>(R"pb(subject: "s"
                                          expires_at { seconds: 1710500000 })pb"));
  ThenCustomerNotFound();
  When(TextProto<v1::RevokeAccessRequest>(R"pb(subject: "s")pb"));
  ThenCustomerNotFound();
  // Even an invalid request: the customer is looked at first.
  When(v1::AddContactRequest());
  ThenCustomerNotFound();
}

// =============================================================================
// RegisterCustomer
// =============================================================================

const char kRegisterBase[] = R"pb(basic { name: "Acme Ltd" }
                                  owner: "rep-1"
                                  region: "north")pb";

TEST_F(CustomerTest, RegisterEmitsRegisteredThenOneContactAddedPerContact) {
  When(TextProto<v1::RegisterCustomerRequest>(R"pb(
    basic {
      name: "  Acme Ltd  "
      address: "1 Harbour Road"
      legal_representative: "Wang Wu"
      founding_date: "2001-05-20"
      nature: ENTERPRISE_NATURE_PRIVATE
      industry: "manufacturing"
      registration_number: "91310000-MA1"
      registered_capital { currency_code: "CNY" amount_minor: 100000000 }
      website: "https://acme.example"
    }
    characteristics {
      annual_revenue { currency_code: "CNY" amount_minor: 500000000 }
      employee_count: 120
      needs: "ERP"
    }
    source { channel: SOURCE_CHANNEL_EXHIBITION referrer: "Canton Fair" }
    owner: "rep-1"
    region: "north"
    confirm_duplicate: true
    contacts {
      contact_id: "chosen-by-client"
      title: "CEO"
      decision_maker: true
      personal { name: " Li Lei " email: "li@acme.example" birthday: "05-20" hobbies: "golf" }
    }
    contacts { personal { name: "Han Meimei" phone: "+86 10 8888 6666" } }
  )pb"));
  Then({Event(R"pb(registered {
                     basic {
                       name: "Acme Ltd"
                       address: "1 Harbour Road"
                       legal_representative: "Wang Wu"
                       founding_date: "2001-05-20"
                       nature: ENTERPRISE_NATURE_PRIVATE
                       industry: "manufacturing"
                       registration_number: "91310000-MA1"
                       registered_capital { currency_code: "CNY" amount_minor: 100000000 }
                       website: "https://acme.example"
                     }
                     characteristics {
                       annual_revenue { currency_code: "CNY" amount_minor: 500000000 }
                       employee_count: 120
                       needs: "ERP"
                     }
                     source { channel: SOURCE_CHANNEL_EXHIBITION referrer: "Canton Fair" }
                     lifecycle: LIFECYCLE_POTENTIAL
                     owner: "rep-1"
                     region: "north"
                   })pb"),
        Event(R"pb(contact_added {
                     contact {
                       contact_id: "id-1"
                       title: "CEO"
                       decision_maker: true
                       personal {
                         name: "Li Lei"
                         email: "li@acme.example"
                         birthday: "05-20"
                         hobbies: "golf"
                       }
                     }
                   })pb"),
        Event(R"pb(contact_added {
                     contact {
                       contact_id: "id-2"
                       personal { name: "Han Meimei" phone: "+86 10 8888 6666" }
                     }
                   })pb")});
  EXPECT_EQ(state_.customer_id(), kCustomerId);
  EXPECT_EQ(state_.version(), 3u);
  EXPECT_EQ(state_.basic().name(), "Acme Ltd");
  EXPECT_EQ(state_.contacts_size(), 2);
  EXPECT_EQ(state_.verification(), v1::VERIFICATION_STATE_UNVERIFIED);
  EXPECT_EQ(state_.lifecycle(), v1::LIFECYCLE_POTENTIAL);
  EXPECT_EQ(state_.owner(), "rep-1");
  EXPECT_EQ(state_.region(), "north");
}

TEST_F(CustomerTest, RegisterMinimalDefaultsToPotential) {
  When(TextProto<v1::RegisterCustomerRequest>(kRegisterBase));
  Then({Event(R"pb(registered {
                     basic { name: "Acme Ltd" }
                     lifecycle: LIFECYCLE_POTENTIAL
                     owner: "rep-1"
                     region: "north"
                   })pb")});
  EXPECT_EQ(ids_issued_, 0);
}

TEST_F(CustomerTest, RegisterKeepsAGivenLifecycle) {
  auto request = TextProto<v1::RegisterCustomerRequest>(kRegisterBase);
  request.set_lifecycle(v1::LIFECYCLE_COOPERATING);
  When(request);
  Then({Event(R"pb(registered {
                     basic { name: "Acme Ltd" }
                     lifecycle: LIFECYCLE_COOPERATING
                     owner: "rep-1"
                     region: "north"
                   })pb")});
  EXPECT_EQ(state_.lifecycle(), v1::LIFECYCLE_COOPERATING);
}

TEST_F(CustomerTest, RegisterAcceptsA200CharacterChineseName) {
  std::string name;
  for (int i = 0; i < 200; ++i) name += "\xE5\x8D\x8E";  // 华
  auto request = TextProto<v1::RegisterCustomerRequest>(kRegisterBase);
  request.mutable_basic()->set_name(name);
  When(request);
  ASSERT_TRUE(result_.ok()) << result_.status();
  EXPECT_EQ((*result_)[0].registered().basic().name(), name);
}

TEST_F(CustomerTest, RegisterNeedsACustomerId) {
  result_ = DecideRegister(TextProto<v1::RegisterCustomerRequest>(kRegisterBase), "", ctx_);
  ThenError(Code::kInvalidArgument, "customer_id");
}

using RegisterBadInput = BadInputTest<v1::RegisterCustomerRequest>;
TEST_P(RegisterBadInput, IsRefused) { Run(kRegisterBase); }
INSTANTIATE_TEST_SUITE_P(
    Cases, RegisterBadInput,
    ValuesIn(std::vector<BadCase>{
        {"NameMissing", R"pb(basic { name: "" })pb", "basic.name", Code::kInvalidArgument,
         "basic.name: required"},
        {"NameBlank", R"pb(basic { name: " \t　" })pb", "basic.name"},
        {"NameTooLong", "basic { name: '" + Long(201) + "' }", "basic.name", Code::kInvalidArgument,
         "basic.name: at most 200 characters"},
        {"NameNotUtf8", R"pb(basic { name: "Acme \377" })pb", "basic.name", Code::kInvalidArgument,
         "basic.name: not valid UTF-8"},
        {"AddressTooLong", "basic { address: '" + Long(2001) + "' }", "basic.address",
         Code::kInvalidArgument, "basic.address: at most 2000 characters"},
        {"LegalRepresentativeTooLong", "basic { legal_representative: '" + Long(2001) + "' }",
         "basic.legal_representative"},
        {"IndustryTooLong", "basic { industry: '" + Long(2001) + "' }", "basic.industry"},
        {"RegistrationNumberTooLong", "basic { registration_number: '" + Long(2001) + "' }",
         "basic.registration_number"},
        {"WebsiteWithoutScheme", R"pb(basic { website: "www.acme.example" })pb", "basic.website",
         Code::kInvalidArgument, "basic.website: must start with http:// or https://"},
        {"WebsiteFtp", R"pb(basic { website: "ftp://acme.example" })pb", "basic.website"},
        {"FoundingDateNotADate", R"pb(basic { founding_date: "2023-02-29" })pb",
         "basic.founding_date", Code::kInvalidArgument,
         "basic.founding_date: not a valid date (YYYY-MM-DD)"},
        {"FoundingDateWrongFormat", R"pb(basic { founding_date: "20.05.2001" })pb",
         "basic.founding_date"},
        {"FoundingDateInFuture", R"pb(basic { founding_date: "2024-03-16" })pb",
         "basic.founding_date", Code::kInvalidArgument,
         "basic.founding_date: must not be in the future"},
        {"NatureUnknown", R"pb(basic { nature: 99 })pb", "basic.nature", Code::kInvalidArgument,
         "basic.nature: unknown value 99"},
        {"CapitalNegative", R"pb(basic {
                                   registered_capital { currency_code: "CNY" amount_minor: -1 }
                                 })pb",
         "basic.registered_capital.amount_minor", Code::kInvalidArgument,
         "basic.registered_capital.amount_minor: must not be negative"},
        {"CapitalLowerCaseCurrency",
         R"pb(basic { registered_capital { currency_code: "cny" amount_minor: 1 } })pb",
         "basic.registered_capital.currency_code"},
        {"CapitalWithoutCurrency", R"pb(basic { registered_capital { amount_minor: 1 } })pb",
         "basic.registered_capital.currency_code"},
        {"RevenueNegative", R"pb(characteristics {
                                   annual_revenue { currency_code: "USD" amount_minor: -5 }
                                 })pb",
         "characteristics.annual_revenue.amount_minor"},
        {"RevenueBadCurrency", R"pb(characteristics {
                                      annual_revenue { currency_code: "US$" amount_minor: 5 }
                                    })pb",
         "characteristics.annual_revenue.currency_code"},
        {"EmployeeCountNegative", R"pb(characteristics { employee_count: -1 })pb",
         "characteristics.employee_count", Code::kInvalidArgument,
         "characteristics.employee_count: must not be negative"},
        {"TraitsTooLong", "characteristics { purchase_decision_traits: '" + Long(2001) + "' }",
         "characteristics.purchase_decision_traits"},
        {"NeedsTooLong", "characteristics { needs: '" + Long(2001) + "' }",
         "characteristics.needs"},
        {"InterestsTooLong", "characteristics { interests: '" + Long(2001) + "' }",
         "characteristics.interests"},
        {"TrendTooLong", "characteristics { business_trend: '" + Long(2001) + "' }",
         "characteristics.business_trend"},
        {"PositionTooLong", "characteristics { market_position: '" + Long(2001) + "' }",
         "characteristics.market_position"},
        {"ChannelUnknown", R"pb(source { channel: 42 })pb", "source.channel",
         Code::kInvalidArgument, "source.channel: unknown value 42"},
        {"ReferrerTooLong", "source { referrer: '" + Long(2001) + "' }", "source.referrer"},
        {"LifecycleUnknown", R"pb(lifecycle: 9)pb", "lifecycle", Code::kInvalidArgument,
         "lifecycle: unknown value 9"},
        {"LifecycleChurned", R"pb(lifecycle: LIFECYCLE_CHURNED)pb", "lifecycle",
         Code::kInvalidArgument, "lifecycle: cannot register as churned"},
        {"OwnerMissing", R"pb(owner: "")pb", "owner", Code::kInvalidArgument, "owner: required"},
        {"OwnerBlank", R"pb(owner: "  ")pb", "owner"},
        {"RegionMissing", R"pb(region: "")pb", "region", Code::kInvalidArgument,
         "region: required"},
        {"ContactWithoutPersonal", R"pb(contacts { title: "CEO" })pb", "contacts[0].personal.name",
         Code::kInvalidArgument, "contacts[0].personal.name: required"},
        {"SecondContactWithoutName", R"pb(contacts { personal { name: "Li" } }
                                          contacts { personal { email: "h@acme.cn" } })pb",
         "contacts[1].personal.name"},
        {"ContactBadEmail", R"pb(contacts { personal { name: "Li" email: "li.acme.cn" } })pb",
         "contacts[0].personal.email", Code::kInvalidArgument,
         "contacts[0].personal.email: not an e-mail address"},
        {"ContactBadPhone", R"pb(contacts { personal { name: "Li" phone: "call me" } })pb",
         "contacts[0].personal.phone"},
        {"ContactBadBirthday", R"pb(contacts { personal { name: "Li" birthday: "02-30" } })pb",
         "contacts[0].personal.birthday"},
        {"ContactTitleTooLong", "contacts { title: '" + Long(2001) + "' personal { name: 'Li' } }",
         "contacts[0].title"},
    }),
    CaseName);

// =============================================================================
// UpdateCustomer
// =============================================================================

TEST_F(CustomerTest, UpdateOfOneFieldChangesOnlyThatField) {
  GivenRegistered();
  // The website in the request is invalid but not named: neither checked nor applied.
  When(TextProto<v1::UpdateCustomerRequest>(R"pb(
    customer_id: "cust-1"
    update_paths: "basic.address"
    basic { address: "2 River Street" website: "not a url" }
  )pb"));
  Then({Event(R"pb(updated {
                     paths: "basic.address"
                     basic { address: "2 River Street" }
                   })pb")});
  EXPECT_EQ(state_.basic().address(), "2 River Street");
  EXPECT_EQ(state_.basic().name(), "Acme Ltd");
  EXPECT_EQ(state_.basic().website(), "https://acme.example");
  EXPECT_EQ(state_.version(), 2u);
}

TEST_F(CustomerTest, UpdateOfWholeBasicReplacesIt) {
  GivenRegistered();
  When(TextProto<v1::UpdateCustomerRequest>(R"pb(
    update_paths: "basic"
    basic { name: " Acme Group " industry: "logistics" }
  )pb"));
  Then({Event(R"pb(updated {
                     paths: "basic"
                     basic { name: "Acme Group" industry: "logistics" }
                   })pb")});
  EXPECT_EQ(state_.basic().name(), "Acme Group");
  EXPECT_EQ(state_.basic().address(), "");
  EXPECT_EQ(state_.basic().website(), "");
}

TEST_F(CustomerTest, UpdateCanClearAnOptionalField) {
  GivenRegistered();
  When(TextProto<v1::UpdateCustomerRequest>(R"pb(update_paths: "basic.website")pb"));
  Then({Event(R"pb(updated {
                     paths: "basic.website"
                     basic {}
                   })pb")});
  EXPECT_EQ(state_.basic().website(), "");
  EXPECT_EQ(state_.basic().address(), "1 Harbour Road");
}

TEST_F(CustomerTest, UpdateOfCharacteristicsAndSource) {
  GivenRegistered();
  When(TextProto<v1::UpdateCustomerRequest>(R"pb(
    update_paths: "characteristics"
    update_paths: "source.referrer"
    characteristics {
      employee_count: 300
      annual_revenue { currency_code: "CNY" amount_minor: 0 }
    }
    source { channel: SOURCE_CHANNEL_OTHER referrer: "Zhang San" }
  )pb"));
  Then({Event(R"pb(updated {
                     paths: "characteristics"
                     paths: "source.referrer"
                     characteristics {
                       employee_count: 300
                       annual_revenue { currency_code: "CNY" }
                     }
                     source { referrer: "Zhang San" }
                   })pb")});
  EXPECT_EQ(state_.characteristics().employee_count(), 300);
  EXPECT_EQ(state_.source().referrer(), "Zhang San");
  EXPECT_EQ(state_.source().channel(), v1::SOURCE_CHANNEL_UNSPECIFIED);
}

TEST_F(CustomerTest, UpdateOfMoneyField) {
  GivenRegistered();
  When(TextProto<v1::UpdateCustomerRequest>(R"pb(
    update_paths: "basic.registered_capital"
    basic { registered_capital { currency_code: "CNY" amount_minor: 5000 } }
  )pb"));
  Then({Event(R"pb(updated {
                     paths: "basic.registered_capital"
                     basic { registered_capital { currency_code: "CNY" amount_minor: 5000 } }
                   })pb")});
  EXPECT_EQ(state_.basic().registered_capital().amount_minor(), 5000);
}

TEST_F(CustomerTest, UpdateTrimsTheName) {
  GivenRegistered();
  When(TextProto<v1::UpdateCustomerRequest>(R"pb(update_paths: "basic.name"
                                             basic { name: " Acme Co " })pb"));
  Then({Event(R"pb(updated {
                     paths: "basic.name"
                     basic { name: "Acme Co" }
                   })pb")});
  EXPECT_EQ(state_.basic().name(), "Acme Co");
}

TEST_F(CustomerTest, UpdateThatChangesNothingDecidesNoEvents) {
  GivenRegistered();
  When(TextProto<v1::UpdateCustomerRequest>(R"pb(
    update_paths: "basic.name"
    update_paths: "basic.address"
    update_paths: "source"
    basic { name: "  Acme Ltd" address: "1 Harbour Road" }
  )pb"));
  ThenNoEvents();
  EXPECT_EQ(state_.version(), 1u);
}

TEST_F(CustomerTest, UpdateCarriesOnlyThePathsThatChange) {
  GivenRegistered();
  When(TextProto<v1::UpdateCustomerRequest>(R"pb(
    update_paths: "basic.name"
    update_paths: "basic.address"
    basic { name: "Acme Ltd" address: "3 Hill Lane" }
  )pb"));
  Then({Event(R"pb(updated {
                     paths: "basic.address"
                     basic { address: "3 Hill Lane" }
                   })pb")});
}

TEST_F(CustomerTest, UpdateDropsRepeatedPathsAndPathsCoveredByTheirMessage) {
  GivenRegistered();
  When(TextProto<v1::UpdateCustomerRequest>(R"pb(
    update_paths: "basic.address"
    update_paths: "basic"
    update_paths: "basic.address"
    update_paths: "source.channel"
    update_paths: "source.channel"
    basic { name: "Acme Ltd" address: "3 Hill Lane" }
    source { channel: SOURCE_CHANNEL_WEB_MEDIA }
  )pb"));
  Then({Event(R"pb(updated {
                     paths: "basic"
                     paths: "source.channel"
                     basic { name: "Acme Ltd" address: "3 Hill Lane" }
                     source { channel: SOURCE_CHANNEL_WEB_MEDIA }
                   })pb")});
  EXPECT_EQ(state_.basic().website(), "");
  EXPECT_EQ(state_.source().channel(), v1::SOURCE_CHANNEL_WEB_MEDIA);
}

class UpdateBadInput : public BadInputTest<v1::UpdateCustomerRequest> {
 protected:
  void SetUp() override { GivenRegistered(); }
};
TEST_P(UpdateBadInput, IsRefused) { Run(""); }
INSTANTIATE_TEST_SUITE_P(
    Cases, UpdateBadInput,
    ValuesIn(std::vector<BadCase>{
        {"NoPaths", R"pb(basic { name: "New" })pb", "update_paths", Code::kInvalidArgument,
         "update_paths: required"},
        {"UnknownPart", R"pb(update_paths: "owner")pb", "update_paths[0]", Code::kInvalidArgument,
         "update_paths[0]: unknown path owner"},
        {"UnknownField", R"pb(update_paths: "basic.name"
                              update_paths: "basic.colour"
                              basic { name: "N" })pb",
         "update_paths[1]", Code::kInvalidArgument, "update_paths[1]: unknown path basic.colour"},
        {"TooDeep", R"pb(update_paths: "basic.registered_capital.amount_minor")pb",
         "update_paths[0]"},
        {"TrailingDot", R"pb(update_paths: "basic.")pb", "update_paths[0]"},
        {"Empty", R"pb(update_paths: "")pb", "update_paths[0]"},
        {"CaseMatters", R"pb(update_paths: "Basic.name")pb", "update_paths[0]"},
        {"ClearName", R"pb(update_paths: "basic.name")pb", "basic.name", Code::kInvalidArgument,
         "basic.name: required"},
        {"BlankName", R"pb(update_paths: "basic.name"
                           basic { name: "   " })pb",
         "basic.name"},
        {"WholeBasicWithoutName", R"pb(update_paths: "basic"
                                       basic { address: "x" })pb",
         "basic.name"},
        {"NameTooLong", "update_paths: 'basic.name' basic { name: '" + Long(201) + "' }",
         "basic.name"},
        {"AddressTooLong", "update_paths: 'basic.address' basic { address: '" + Long(2001) + "' }",
         "basic.address"},
        {"BadWebsite", R"pb(update_paths: "basic.website"
                            basic { website: "acme.example" })pb",
         "basic.website"},
        {"FutureFoundingDate", R"pb(update_paths: "basic.founding_date"
                                    basic { founding_date: "2030-01-01" })pb",
         "basic.founding_date"},
        {"BadFoundingDate", R"pb(update_paths: "basic.founding_date"
                                 basic { founding_date: "2001-13-01" })pb",
         "basic.founding_date"},
        {"UnknownNature", R"pb(update_paths: "basic.nature"
                               basic { nature: 42 })pb",
         "basic.nature"},
        {"NegativeCapital",
         R"pb(update_paths: "basic.registered_capital"
              basic { registered_capital { currency_code: "CNY" amount_minor: -100 } })pb",
         "basic.registered_capital.amount_minor"},
        {"WholeBasicWithBadCapitalCurrency",
         R"pb(update_paths: "basic"
              basic {
                name: "A"
                registered_capital { currency_code: "RMB1" amount_minor: 1 }
              })pb",
         "basic.registered_capital.currency_code"},
        {"NegativeEmployees", R"pb(update_paths: "characteristics.employee_count"
                                   characteristics { employee_count: -3 })pb",
         "characteristics.employee_count"},
        {"WholeCharacteristicsWithNegativeRevenue",
         R"pb(update_paths: "characteristics"
              characteristics { annual_revenue { currency_code: "CNY" amount_minor: -1 } })pb",
         "characteristics.annual_revenue.amount_minor"},
        {"NeedsTooLong",
         "update_paths: 'characteristics.needs' characteristics { needs: '" + Long(2001) + "' }",
         "characteristics.needs"},
        {"UnknownChannel", R"pb(update_paths: "source.channel"
                                source { channel: 99 })pb",
         "source.channel", Code::kInvalidArgument, "source.channel: unknown value 99"},
        {"WholeSourceWithLongReferrer",
         "update_paths: 'source' source { referrer: '" + Long(2001) + "' }", "source.referrer"},
    }),
    CaseName);

// =============================================================================
// AddContact / UpdateContact / RemoveContact
// =============================================================================

TEST_F(CustomerTest, AddContactAssignsAnIdAndTrimsTheName) {
  GivenRegistered();
  When(TextProto<v1::AddContactRequest>(R"pb(
    customer_id: "cust-1"
    contact {
      contact_id: "ignored"
      title: "Purchasing manager"
      decision_maker: true
      personal {
        name: "　李雷 "
        phone: "+86 (10) 8888-6666"
        fax: "010 8888 6667"
        email: "lilei@acme.example"
        birthday: "1980-02-29"
        hobbies: "tea"
        hobbies: "go"
        preferences: "calls before 10:00"
      }
    }
  )pb"));
  Then({Event(R"pb(contact_added {
                     contact {
                       contact_id: "id-1"
                       title: "Purchasing manager"
                       decision_maker: true
                       personal {
                         name: "李雷"
                         phone: "+86 (10) 8888-6666"
                         fax: "010 8888 6667"
                         email: "lilei@acme.example"
                         birthday: "1980-02-29"
                         hobbies: "tea"
                         hobbies: "go"
                         preferences: "calls before 10:00"
                       }
                     }
                   })pb")});
  ASSERT_EQ(state_.contacts_size(), 1);
  EXPECT_EQ(state_.contacts(0).contact_id(), "id-1");
}

TEST_F(CustomerTest, AddContactBeyondTheMostContactsIsRefused) {
  GivenRegistered();
  for (int i = 0; i < kMaxContacts; ++i) {
    state_.add_contacts()->set_contact_id("c-" + std::to_string(i));
  }
  When(TextProto<v1::AddContactRequest>(R"pb(contact { personal { name: "Li" } })pb"));
  ThenError(Code::kFailedPrecondition, "contacts",
            "contacts: a customer has at most 1000 contacts; remove one first");
  state_.mutable_contacts()->RemoveLast();
  When(TextProto<v1::AddContactRequest>(R"pb(contact { personal { name: "Li" } })pb"));
  ASSERT_TRUE(result_.ok()) << result_.status();
}

TEST_F(CustomerTest, AddContactWithBirthdayWithoutYear) {
  GivenRegistered();
  When(
      TextProto<v1::AddContactRequest>(R"pb(contact { personal { name: "Li" birthday: "02-29" } })pb"));
  Then({Event(R"pb(contact_added {
                     contact {
                       contact_id: "id-1"
                       personal { name: "Li" birthday: "02-29" }
                     }
                   })pb")});
}

TEST_F(CustomerTest, AddContactWithoutIdGeneratorIsAnInternalError) {
  GivenRegistered();
  ctx_.new_id = nullptr;
  When(TextProto<v1::AddContactRequest>(R"pb(contact { personal { name: "Li" } })pb"));
  ASSERT_FALSE(result_.ok());
  EXPECT_EQ(result_.status().code(), Code::kInternal);
}

class AddContactBadInput : public BadInputTest<v1::AddContactRequest> {
 protected:
  void SetUp() override { GivenRegistered(); }
};
TEST_P(AddContactBadInput, IsRefused) { Run(""); }
INSTANTIATE_TEST_SUITE_P(
    Cases, AddContactBadInput,
    ValuesIn(std::vector<BadCase>{
        {"NoContact", "", "contact.personal.name", Code::kInvalidArgument,
         "contact.personal.name: required"},
        {"NoPersonal", R"pb(contact { title: "CEO" })pb", "contact.personal.name"},
        {"NameMissing", R"pb(contact { personal { phone: "12345" } })pb", "contact.personal.name"},
        {"NameBlank", R"pb(contact { personal { name: "  " } })pb", "contact.personal.name"},
        {"NameTooLong", "contact { personal { name: '" + Long(201) + "' } }",
         "contact.personal.name"},
        {"TitleTooLong", "contact { title: '" + Long(2001) + "' personal { name: 'Li' } }",
         "contact.title"},
        {"PhoneTooShort", R"pb(contact { personal { name: "Li" phone: "1234" } })pb",
         "contact.personal.phone"},
        {"PhoneTooLong",
         "contact { personal { name: 'Li' phone: '" + std::string(31, '1') + "' } }",
         "contact.personal.phone"},
        {"PhoneLetters", R"pb(contact { personal { name: "Li" phone: "12ab345" } })pb",
         "contact.personal.phone"},
        {"PhoneFewDigits", R"pb(contact { personal { name: "Li" phone: "(12)-3-4+" } })pb",
         "contact.personal.phone"},
        {"FaxBad", R"pb(contact { personal { name: "Li" fax: "fax: 1234567" } })pb",
         "contact.personal.fax"},
        {"EmailNoAt", R"pb(contact { personal { name: "Li" email: "li.acme.cn" } })pb",
         "contact.personal.email", Code::kInvalidArgument,
         "contact.personal.email: not an e-mail address"},
        {"EmailTwoAts", R"pb(contact { personal { name: "Li" email: "li@x@acme.cn" } })pb",
         "contact.personal.email"},
        {"EmailEmptyLocal", R"pb(contact { personal { name: "Li" email: "@acme.cn" } })pb",
         "contact.personal.email"},
        {"EmailDomainWithoutDot", R"pb(contact { personal { name: "Li" email: "li@acme" } })pb",
         "contact.personal.email"},
        {"EmailWhitespace", R"pb(contact { personal { name: "Li" email: "li lei@acme.cn" } })pb",
         "contact.personal.email"},
        {"EmailTooLong",
         "contact { personal { name: 'Li' email: '" + Long(64) + "@" + Long(186) + ".com' } }",
         "contact.personal.email"},
        {"BirthdayBadMonth", R"pb(contact { personal { name: "Li" birthday: "13-01" } })pb",
         "contact.personal.birthday"},
        {"BirthdayBadDay", R"pb(contact { personal { name: "Li" birthday: "04-31" } })pb",
         "contact.personal.birthday"},
        {"BirthdayNotALeapYear",
         R"pb(contact { personal { name: "Li" birthday: "1981-02-29" } })pb",
         "contact.personal.birthday"},
        {"BirthdayFormat", R"pb(contact { personal { name: "Li" birthday: "1980/01/01" } })pb",
         "contact.personal.birthday"},
        {"HobbyTooLong",
         "contact { personal { name: 'Li' hobbies: 'tea' hobbies: '" + Long(2001) + "' } }",
         "contact.personal.hobbies[1]"},
        {"PreferencesTooLong",
         "contact { personal { name: 'Li' preferences: '" + Long(2001) + "' } }",
         "contact.personal.preferences"},
    }),
    CaseName);

TEST_F(CustomerTest, UpdateContactReplacesAllOfItsData) {
  Given({Registered(), ContactAdded("c-1", "Li Lei"), ContactAdded("c-2", "Han Meimei")});
  When(TextProto<v1::UpdateContactRequest>(R"pb(
    contact {
      contact_id: "c-1"
      title: "CFO"
      personal { name: "Li Lei " email: "lei@acme.example" }
    }
  )pb"));
  Then({Event(R"pb(contact_updated {
                     contact {
                       contact_id: "c-1"
                       title: "CFO"
                       personal { name: "Li Lei" email: "lei@acme.example" }
                     }
                   })pb")});
  ASSERT_EQ(state_.contacts_size(), 2);
  EXPECT_EQ(state_.contacts(0).title(), "CFO");
  EXPECT_EQ(state_.contacts(0).personal().phone(), "");  // replaced, not merged
  EXPECT_EQ(state_.contacts(1).personal().name(), "Han Meimei");
}

TEST_F(CustomerTest, UpdateContactWithTheSameDataDecidesNoEvents) {
  Given({Registered(), ContactAdded("c-1", "Li Lei")});
  v1::UpdateContactRequest request;
  *request.mutable_contact() = state_.contacts(0);
  request.mutable_contact()->mutable_personal()->set_name(" Li Lei ");
  When(request);
  ThenNoEvents();
}

class UpdateContactBadInput : public BadInputTest<v1::UpdateContactRequest> {
 protected:
  void SetUp() override { Given({Registered(), ContactAdded("c-1", "Li Lei")}); }
};
TEST_P(UpdateContactBadInput, IsRefused) { Run(""); }
INSTANTIATE_TEST_SUITE_P(
    Cases, UpdateContactBadInput,
    ValuesIn(std::vector<BadCase>{
        {"IdMissing", R"pb(contact { personal { name: "Li" } })pb", "contact.contact_id",
         Code::kInvalidArgument, "contact.contact_id: required"},
        {"UnknownId", R"pb(contact {
                             contact_id: "c-9"
                             personal { name: "Li" }
                           })pb",
         "contact.contact_id", Code::kNotFound, "contact.contact_id: no contact c-9"},
        {"NameCleared", R"pb(contact {
                               contact_id: "c-1"
                               personal { name: "" }
                             })pb",
         "contact.personal.name"},
        {"NoPersonal", R"pb(contact { contact_id: "c-1" })pb", "contact.personal.name"},
        {"BadEmail", R"pb(contact {
                            contact_id: "c-1"
                            personal { name: "Li" email: "li@" }
                          })pb",
         "contact.personal.email"},
        {"BadPhone", R"pb(contact {
                            contact_id: "c-1"
                            personal { name: "Li" phone: "12" }
                          })pb",
         "contact.personal.phone"},
        {"BadFax", R"pb(contact {
                          contact_id: "c-1"
                          personal { name: "Li" fax: "x12345" }
                        })pb",
         "contact.personal.fax"},
        {"BadBirthday", R"pb(contact {
                               contact_id: "c-1"
                               personal { name: "Li" birthday: "00-12" }
                             })pb",
         "contact.personal.birthday"},
        {"InvalidBeatsUnknown", R"pb(contact {
                                       contact_id: "c-9"
                                       personal { name: "" }
                                     })pb",
         "contact.personal.name"},
    }),
    CaseName);

TEST_F(CustomerTest, RemoveContactErasesItsPersonalDataFromTheRecord) {
  Given({Registered(), ContactAdded("c-1", "Li Lei"), ContactAdded("c-2", "Han Meimei")});
  When(TextProto<v1::RemoveContactRequest>(R"pb(contact_id: "c-1")pb"));
  Then({Event(R"pb(contact_removed { contact_id: "c-1" })pb")});
  ASSERT_EQ(state_.contacts_size(), 1);
  EXPECT_EQ(state_.contacts(0).contact_id(), "c-2");
  EXPECT_EQ(state_.SerializeAsString().find("Li Lei"), std::string::npos);
}

class RemoveContactBadInput : public BadInputTest<v1::RemoveContactRequest> {
 protected:
  void SetUp() override { Given({Registered(), ContactAdded("c-1", "Li Lei")}); }
};
TEST_P(RemoveContactBadInput, IsRefused) { Run(""); }
INSTANTIATE_TEST_SUITE_P(Cases, RemoveContactBadInput,
                         ValuesIn(std::vector<BadCase>{
                             {"IdMissing", "", "contact_id", Code::kInvalidArgument,
                              "contact_id: required"},
                             {"UnknownId", R"pb(contact_id: "c-9")pb", "contact_id",
                              Code::kNotFound, "contact_id: no contact c-9"},
                         }),
                         CaseName);

TEST_F(CustomerTest, RemovedContactCannotBeRemovedOrUpdatedAgain) {
  Given({Registered(), ContactAdded("c-1", "Li Lei"),
         Event(R"pb(contact_removed { contact_id: "c-1" })pb")});
  When(TextProto<v1::RemoveContactRequest>(R"pb(contact_id: "c-1")pb"));
  ThenError(Code::kNotFound, "contact_id");
  When(TextProto<v1::UpdateContactRequest>(R"pb(contact {
                                              contact_id: "c-1"
                                              personal { name: "Li" }
                                            })pb"));
  ThenError(Code::kNotFound, "contact.contact_id");
}

// =============================================================================
// RecordTransaction
// =============================================================================

const char kTransactionBase[] = R"pb(
  transaction {
    party: TRANSACTION_PARTY_OWN_COMPANY
    amount { currency_code: "CNY" amount_minor: 100000 }
    date: "2024-03-01"
  }
)pb";

TEST_F(CustomerTest, RecordOwnTransaction) {
  GivenRegistered();
  When(TextProto<v1::RecordTransactionRequest>(R"pb(
    transaction {
      transaction_id: "ignored"
      party: TRANSACTION_PARTY_OWN_COMPANY
      cooperation_mode: "framework contract"
      amount { currency_code: "CNY" amount_minor: 1250000 }
      payment_method: "bank transfer, 30 days"
      contract_number: "HT-2024-007"
      date: "2024-03-01"
      paid_date: "2024-03-15"
    }
  )pb"));
  Then({Event(R"pb(transaction_recorded {
                     transaction {
                       transaction_id: "id-1"
                       party: TRANSACTION_PARTY_OWN_COMPANY
                       cooperation_mode: "framework contract"
                       amount { currency_code: "CNY" amount_minor: 1250000 }
                       payment_method: "bank transfer, 30 days"
                       contract_number: "HT-2024-007"
                       date: "2024-03-01"
                       paid_date: "2024-03-15"
                     }
                   })pb")});
  ASSERT_EQ(state_.transactions_size(), 1);
  EXPECT_EQ(state_.transactions(0).transaction_id(), "id-1");
}

TEST_F(CustomerTest, RecordCompetitorTransactionOfZeroAmountDatedToday) {
  GivenRegistered();
  When(TextProto<v1::RecordTransactionRequest>(R"pb(
    transaction {
      party: TRANSACTION_PARTY_COMPETITOR
      competitor: " Rival Corp "
      amount { currency_code: "USD" }
      date: "2024-03-15"
    }
  )pb"));
  Then({Event(R"pb(transaction_recorded {
                     transaction {
                       transaction_id: "id-1"
                       party: TRANSACTION_PARTY_COMPETITOR
                       competitor: "Rival Corp"
                       amount { currency_code: "USD" }
                       date: "2024-03-15"
                     }
                   })pb")});
}

class TransactionBadInput : public BadInputTest<v1::RecordTransactionRequest> {
 protected:
  void SetUp() override { GivenRegistered(); }
};
TEST_P(TransactionBadInput, IsRefused) { Run(kTransactionBase); }
INSTANTIATE_TEST_SUITE_P(
    Cases, TransactionBadInput,
    ValuesIn(std::vector<BadCase>{
        {"PartyMissing", R"pb(transaction { party: TRANSACTION_PARTY_UNSPECIFIED })pb",
         "transaction.party", Code::kInvalidArgument, "transaction.party: required"},
        {"PartyUnknown", R"pb(transaction { party: 7 })pb", "transaction.party",
         Code::kInvalidArgument, "transaction.party: unknown value 7"},
        {"CompetitorMissing", R"pb(transaction { party: TRANSACTION_PARTY_COMPETITOR })pb",
         "transaction.competitor", Code::kInvalidArgument,
         "transaction.competitor: required for a competitor's transaction"},
        {"CompetitorBlank",
         R"pb(transaction { party: TRANSACTION_PARTY_COMPETITOR competitor: "  " })pb",
         "transaction.competitor"},
        {"CompetitorTooLong",
         "transaction { party: TRANSACTION_PARTY_COMPETITOR competitor: '" + Long(201) + "' }",
         "transaction.competitor"},
        {"CompetitorOnOwnTransaction", R"pb(transaction { competitor: "Rival" })pb",
         "transaction.competitor"},
        {"AmountMissing", R"pb(transaction { amount { currency_code: "" amount_minor: 0 } })pb",
         "transaction.amount", Code::kInvalidArgument, "transaction.amount: required"},
        {"CurrencyMissing", R"pb(transaction { amount { currency_code: "" } })pb",
         "transaction.amount.currency_code", Code::kInvalidArgument,
         "transaction.amount.currency_code: required"},
        {"CurrencyLowerCase", R"pb(transaction { amount { currency_code: "cny" } })pb",
         "transaction.amount.currency_code"},
        {"AmountNegative", R"pb(transaction { amount { amount_minor: -1 } })pb",
         "transaction.amount.amount_minor", Code::kInvalidArgument,
         "transaction.amount.amount_minor: must not be negative"},
        {"DateMissing", R"pb(transaction { date: "" })pb", "transaction.date",
         Code::kInvalidArgument, "transaction.date: required"},
        {"DateInvalid", R"pb(transaction { date: "2024-02-30" })pb", "transaction.date"},
        {"DateInFuture", R"pb(transaction { date: "2024-03-16" })pb", "transaction.date",
         Code::kInvalidArgument, "transaction.date: must not be in the future"},
        {"PaidDateInvalid", R"pb(transaction { paid_date: "2024-3-5" })pb",
         "transaction.paid_date"},
        {"PaidDateBeforeDate", R"pb(transaction { paid_date: "2024-02-29" })pb",
         "transaction.paid_date", Code::kInvalidArgument,
         "transaction.paid_date: must not be before transaction.date"},
        {"PaidDateInFuture", R"pb(transaction { paid_date: "2024-04-01" })pb",
         "transaction.paid_date"},
        {"CooperationModeTooLong", "transaction { cooperation_mode: '" + Long(2001) + "' }",
         "transaction.cooperation_mode"},
        {"PaymentMethodTooLong", "transaction { payment_method: '" + Long(2001) + "' }",
         "transaction.payment_method"},
        {"ContractNumberTooLong", "transaction { contract_number: '" + Long(2001) + "' }",
         "transaction.contract_number"},
    }),
    CaseName);

// =============================================================================
// RecordAgreement / ChangeAgreementStatus
// =============================================================================

TEST_F(CustomerTest, RecordAgreementDefaultsToDrafted) {
  GivenRegistered();
  When(TextProto<v1::RecordAgreementRequest>(R"pb(
    agreement {
      agreement_id: "ignored"
      title: " Framework 2024 "
      start_date: "2024-04-01"
      end_date: "2025-03-31"
      amount { currency_code: "CNY" amount_minor: 9900000 }
      payment_terms: "quarterly"
    }
  )pb"));
  Then({Event(R"pb(agreement_recorded {
                     agreement {
                       agreement_id: "id-1"
                       title: "Framework 2024"
                       status: AGREEMENT_STATUS_DRAFTED
                       start_date: "2024-04-01"
                       end_date: "2025-03-31"
                       amount { currency_code: "CNY" amount_minor: 9900000 }
                       payment_terms: "quarterly"
                     }
                   })pb")});
  ASSERT_EQ(state_.agreements_size(), 1);
  EXPECT_EQ(state_.agreements(0).status(), v1::AGREEMENT_STATUS_DRAFTED);
}

TEST_F(CustomerTest, RecordAnAlreadySignedAgreementOfOneDay) {
  GivenRegistered();
  When(TextProto<v1::RecordAgreementRequest>(R"pb(
    agreement {
      title: "Pilot"
      status: AGREEMENT_STATUS_SIGNED
      start_date: "2024-01-10"
      end_date: "2024-01-10"
    }
  )pb"));
  Then({Event(R"pb(agreement_recorded {
                     agreement {
                       agreement_id: "id-1"
                       title: "Pilot"
                       status: AGREEMENT_STATUS_SIGNED
                       start_date: "2024-01-10"
                       end_date: "2024-01-10"
                     }
                   })pb")});
}

class AgreementBadInput : public BadInputTest<v1::RecordAgreementRequest> {
 protected:
  void SetUp() override { GivenRegistered(); }
};
TEST_P(AgreementBadInput, IsRefused) { Run(R"pb(agreement { title: "Framework 2024" })pb"); }
INSTANTIATE_TEST_SUITE_P(
    Cases, AgreementBadInput,
    ValuesIn(std::vector<BadCase>{
        {"TitleMissing", R"pb(agreement { title: "" })pb", "agreement.title",
         Code::kInvalidArgument, "agreement.title: required"},
        {"TitleBlank", R"pb(agreement { title: " " })pb", "agreement.title"},
        {"TitleTooLong", "agreement { title: '" + Long(201) + "' }", "agreement.title"},
        {"StatusLegalReview", R"pb(agreement { status: AGREEMENT_STATUS_LEGAL_REVIEW })pb",
         "agreement.status"},
        {"StatusChanged", R"pb(agreement { status: AGREEMENT_STATUS_CHANGED })pb",
         "agreement.status"},
        {"StatusTerminated", R"pb(agreement { status: AGREEMENT_STATUS_TERMINATED })pb",
         "agreement.status", Code::kInvalidArgument,
         "agreement.status: must be DRAFTED or SIGNED when recording, not TERMINATED"},
        {"StatusUnknown", R"pb(agreement { status: 9 })pb", "agreement.status",
         Code::kInvalidArgument, "agreement.status: unknown value 9"},
        {"StartDateInvalid", R"pb(agreement { start_date: "2024-02-30" })pb",
         "agreement.start_date"},
        {"EndDateInvalid", R"pb(agreement { end_date: "31.12.2024" })pb", "agreement.end_date"},
        {"EndBeforeStart", R"pb(agreement { start_date: "2024-04-01" end_date: "2024-03-31" })pb",
         "agreement.end_date", Code::kInvalidArgument,
         "agreement.end_date: must not be before agreement.start_date"},
        {"AmountNegative", R"pb(agreement { amount { currency_code: "CNY" amount_minor: -1 } })pb",
         "agreement.amount.amount_minor"},
        {"AmountWithoutCurrency", R"pb(agreement { amount { amount_minor: 10 } })pb",
         "agreement.amount.currency_code"},
        {"PaymentTermsTooLong", "agreement { payment_terms: '" + Long(2001) + "' }",
         "agreement.payment_terms"},
        {"StatusNoteTooLong", "agreement { status_note: '" + Long(2001) + "' }",
         "agreement.status_note"},
    }),
    CaseName);

TEST_F(CustomerTest, ChangeAgreementStatusRecordsFromToAndNote) {
  Given({Registered(), AgreementRecorded("a-1", v1::AGREEMENT_STATUS_SIGNED),
         AgreementRecorded("a-2", v1::AGREEMENT_STATUS_DRAFTED)});
  When(TextProto<v1::ChangeAgreementStatusRequest>(R"pb(agreement_id: "a-1"
                                                    status: AGREEMENT_STATUS_CHANGED
                                                    note: "price +5%")pb"));
  Then({Event(R"pb(agreement_status_changed {
                     agreement_id: "a-1"
                     from: AGREEMENT_STATUS_SIGNED
                     to: AGREEMENT_STATUS_CHANGED
                     note: "price +5%"
                   })pb")});
  EXPECT_EQ(state_.agreements(0).status(), v1::AGREEMENT_STATUS_CHANGED);
  EXPECT_EQ(state_.agreements(0).status_note(), "price +5%");
  EXPECT_EQ(state_.agreements(1).status(), v1::AGREEMENT_STATUS_DRAFTED);
}

class ChangeAgreementStatusBadInput : public BadInputTest<v1::ChangeAgreementStatusRequest> {
 protected:
  void SetUp() override {
    Given({Registered(), AgreementRecorded("a-1", v1::AGREEMENT_STATUS_DRAFTED)});
  }
};
TEST_P(ChangeAgreementStatusBadInput, IsRefused) {
  Run(R"pb(agreement_id: "a-1" status: AGREEMENT_STATUS_LEGAL_REVIEW)pb");
}
INSTANTIATE_TEST_SUITE_P(Cases, ChangeAgreementStatusBadInput,
                         ValuesIn(std::vector<BadCase>{
                             {"IdMissing", R"pb(agreement_id: "")pb", "agreement_id",
                              Code::kInvalidArgument, "agreement_id: required"},
                             {"UnknownId", R"pb(agreement_id: "a-9")pb", "agreement_id",
                              Code::kNotFound, "agreement_id: no agreement a-9"},
                             {"StatusMissing", R"pb(status: AGREEMENT_STATUS_UNSPECIFIED)pb",
                              "status", Code::kInvalidArgument, "status: required"},
                             {"StatusUnknown", R"pb(status: 9)pb", "status", Code::kInvalidArgument,
                              "status: unknown value 9"},
                             {"NoteTooLong", "note: '" + Long(2001) + "'", "note"},
                             {"NotAllowedFromDrafted", R"pb(status: AGREEMENT_STATUS_SIGNED)pb",
                              "status", Code::kFailedPrecondition,
                              "status: agreement a-1 is DRAFTED, cannot move to SIGNED"},
                         }),
                         CaseName);

struct AgreementMove {
  v1::AgreementStatus from;
  v1::AgreementStatus to;
  bool allowed;
};

std::vector<AgreementMove> AllAgreementMoves() {
  using S = v1::AgreementStatus;
  const std::vector<std::pair<S, S>> allowed = {
      {v1::AGREEMENT_STATUS_DRAFTED, v1::AGREEMENT_STATUS_LEGAL_REVIEW},
      {v1::AGREEMENT_STATUS_DRAFTED, v1::AGREEMENT_STATUS_TERMINATED},
      {v1::AGREEMENT_STATUS_LEGAL_REVIEW, v1::AGREEMENT_STATUS_DRAFTED},
      {v1::AGREEMENT_STATUS_LEGAL_REVIEW, v1::AGREEMENT_STATUS_SIGNED},
      {v1::AGREEMENT_STATUS_SIGNED, v1::AGREEMENT_STATUS_CHANGED},
      {v1::AGREEMENT_STATUS_SIGNED, v1::AGREEMENT_STATUS_TERMINATED},
      {v1::AGREEMENT_STATUS_CHANGED, v1::AGREEMENT_STATUS_CHANGED},
      {v1::AGREEMENT_STATUS_CHANGED, v1::AGREEMENT_STATUS_TERMINATED},
  };
  std::vector<AgreementMove> moves;
  for (int from = 1; from <= 5; ++from) {
    for (int to = 1; to <= 5; ++to) {
      const bool ok =
          std::find(allowed.begin(), allowed.end(),
                    std::make_pair(static_cast<S>(from), static_cast<S>(to))) != allowed.end();
      moves.push_back({static_cast<S>(from), static_cast<S>(to), ok});
    }
  }
  return moves;
}

void PrintTo(const AgreementMove& m, std::ostream* os) {
  *os << v1::AgreementStatus_Name(m.from) << " -> " << v1::AgreementStatus_Name(m.to);
}

class AgreementTransitionTest : public CustomerTest,
                                public ::testing::WithParamInterface<AgreementMove> {};

TEST_P(AgreementTransitionTest, FollowsTheAgreementLifecycle) {
  const AgreementMove& move = GetParam();
  EXPECT_EQ(AgreementTransitionAllowed(move.from, move.to), move.allowed);
  Given({Registered(), AgreementRecorded("a-1", move.from)});
  v1::ChangeAgreementStatusRequest request;
  request.set_agreement_id("a-1");
  request.set_status(move.to);
  request.set_note("why");
  When(request);
  if (move.allowed) {
    v1::CustomerEvent expected =
        Event(R"pb(agreement_status_changed { agreement_id: "a-1" note: "why" })pb");
    expected.mutable_agreement_status_changed()->set_from(move.from);
    expected.mutable_agreement_status_changed()->set_to(move.to);
    Then({expected});
    EXPECT_EQ(state_.agreements(0).status(), move.to);
  } else {
    ThenError(Code::kFailedPrecondition, "status");
    // The current status is named.
    const std::string current = v1::AgreementStatus_Name(move.from).substr(17);
    EXPECT_NE(std::string(result_.status().message()).find(" " + current), std::string::npos)
        << result_.status();
  }
}

std::string AgreementMoveName(const ::testing::TestParamInfo<AgreementMove>& info) {
  return v1::AgreementStatus_Name(info.param.from).substr(17) + "_to_" +
         v1::AgreementStatus_Name(info.param.to).substr(17);
}

INSTANTIATE_TEST_SUITE_P(AllPairs, AgreementTransitionTest, ValuesIn(AllAgreementMoves()),
                         AgreementMoveName);

// =============================================================================
// ChangeLifecycle
// =============================================================================

struct LifecycleMove {
  v1::Lifecycle from;
  v1::Lifecycle to;
  bool allowed;
};

std::vector<LifecycleMove> AllLifecycleMoves() {
  using L = v1::Lifecycle;
  const std::vector<std::pair<L, L>> allowed = {
      {v1::LIFECYCLE_POTENTIAL, v1::LIFECYCLE_FOLLOWING},
      {v1::LIFECYCLE_POTENTIAL, v1::LIFECYCLE_COOPERATING},
      {v1::LIFECYCLE_POTENTIAL, v1::LIFECYCLE_CHURNED},
      {v1::LIFECYCLE_FOLLOWING, v1::LIFECYCLE_COOPERATING},
      {v1::LIFECYCLE_FOLLOWING, v1::LIFECYCLE_CHURNED},
      {v1::LIFECYCLE_FOLLOWING, v1::LIFECYCLE_POTENTIAL},
      {v1::LIFECYCLE_COOPERATING, v1::LIFECYCLE_FOLLOWING},
      {v1::LIFECYCLE_COOPERATING, v1::LIFECYCLE_CHURNED},
      {v1::LIFECYCLE_CHURNED, v1::LIFECYCLE_FOLLOWING},
      {v1::LIFECYCLE_CHURNED, v1::LIFECYCLE_COOPERATING},
  };
  std::vector<LifecycleMove> moves;
  for (int from = 1; from <= 4; ++from) {
    for (int to = 1; to <= 4; ++to) {
      const bool ok =
          std::find(allowed.begin(), allowed.end(),
                    std::make_pair(static_cast<L>(from), static_cast<L>(to))) != allowed.end();
      moves.push_back({static_cast<L>(from), static_cast<L>(to), ok});
    }
  }
  return moves;
}

void PrintTo(const LifecycleMove& m, std::ostream* os) {
  *os << v1::Lifecycle_Name(m.from) << " -> " << v1::Lifecycle_Name(m.to);
}

class LifecycleTransitionTest : public CustomerTest,
                                public ::testing::WithParamInterface<LifecycleMove> {};

TEST_P(LifecycleTransitionTest, FollowsTheRelationshipLifecycle) {
  const LifecycleMove& move = GetParam();
  EXPECT_EQ(LifecycleTransitionAllowed(move.from, move.to), move.allowed);
  GivenRegistered();
  if (move.from != v1::LIFECYCLE_POTENTIAL) {
    Given({LifecycleChanged(v1::LIFECYCLE_POTENTIAL, move.from)});
  }
  v1::ChangeLifecycleRequest request;
  request.set_lifecycle(move.to);
  if (move.to == v1::LIFECYCLE_CHURNED) request.set_churn_reason("went with a competitor");
  When(request);
  const std::string from_name = v1::Lifecycle_Name(move.from).substr(10);
  const std::string to_name = v1::Lifecycle_Name(move.to).substr(10);
  if (move.allowed) {
    v1::CustomerEvent expected = Event("lifecycle_changed {}");
    v1::LifecycleChanged& changed = *expected.mutable_lifecycle_changed();
    changed.set_from(move.from);
    changed.set_to(move.to);
    if (move.to == v1::LIFECYCLE_CHURNED) changed.set_churn_reason("went with a competitor");
    changed.set_win_back(move.from == v1::LIFECYCLE_CHURNED);
    Then({expected});
    EXPECT_EQ(state_.lifecycle(), move.to);
    EXPECT_EQ(state_.churn_reason(),
              move.to == v1::LIFECYCLE_CHURNED ? "went with a competitor" : "");
  } else if (move.from == move.to) {
    ThenError(Code::kFailedPrecondition, "lifecycle", "lifecycle: already " + from_name);
  } else {
    ThenError(Code::kFailedPrecondition, "lifecycle",
              "lifecycle: cannot move from " + from_name + " to " + to_name);
  }
}

std::string LifecycleMoveName(const ::testing::TestParamInfo<LifecycleMove>& info) {
  return v1::Lifecycle_Name(info.param.from).substr(10) + "_to_" +
         v1::Lifecycle_Name(info.param.to).substr(10);
}

INSTANTIATE_TEST_SUITE_P(AllPairs, LifecycleTransitionTest, ValuesIn(AllLifecycleMoves()),
                         LifecycleMoveName);

TEST_F(CustomerTest, WinningBackAChurnedCustomerClearsTheChurnReason) {
  Given({Registered(), LifecycleChanged(v1::LIFECYCLE_POTENTIAL, v1::LIFECYCLE_CHURNED)});
  EXPECT_EQ(state_.churn_reason(), "price");
  When(TextProto<v1::ChangeLifecycleRequest>(R"pb(lifecycle: LIFECYCLE_COOPERATING)pb"));
  Then({Event(R"pb(lifecycle_changed {
                     from: LIFECYCLE_CHURNED
                     to: LIFECYCLE_COOPERATING
                     win_back: true
                   })pb")});
  EXPECT_EQ(state_.churn_reason(), "");
}

class LifecycleBadInput : public BadInputTest<v1::ChangeLifecycleRequest> {
 protected:
  void SetUp() override { GivenRegistered(); }
};
TEST_P(LifecycleBadInput, IsRefused) { Run(R"pb(lifecycle: LIFECYCLE_FOLLOWING)pb"); }
INSTANTIATE_TEST_SUITE_P(
    Cases, LifecycleBadInput,
    ValuesIn(std::vector<BadCase>{
        {"Missing", R"pb(lifecycle: LIFECYCLE_UNSPECIFIED)pb", "lifecycle", Code::kInvalidArgument,
         "lifecycle: required"},
        {"Unknown", R"pb(lifecycle: 7)pb", "lifecycle", Code::kInvalidArgument,
         "lifecycle: unknown value 7"},
        {"ChurnWithoutReason", R"pb(lifecycle: LIFECYCLE_CHURNED)pb", "churn_reason",
         Code::kInvalidArgument, "churn_reason: required when churning"},
        {"ChurnWithBlankReason", R"pb(lifecycle: LIFECYCLE_CHURNED churn_reason: " ")pb",
         "churn_reason"},
        {"ChurnReasonTooLong", "lifecycle: LIFECYCLE_CHURNED churn_reason: '" + Long(2001) + "'",
         "churn_reason"},
        {"ReasonWithoutChurning", R"pb(churn_reason: "price")pb", "churn_reason"},
        {"AlreadyPotential", R"pb(lifecycle: LIFECYCLE_POTENTIAL)pb", "lifecycle",
         Code::kFailedPrecondition, "lifecycle: already POTENTIAL"},
    }),
    CaseName);

// =============================================================================
// Conversion on a won opportunity
// =============================================================================

TEST_F(CustomerTest, AWonOpportunityMakesAPotentialOrFollowingCustomerCooperating) {
  for (v1::Lifecycle from : {v1::LIFECYCLE_POTENTIAL, v1::LIFECYCLE_FOLLOWING}) {
    SCOPED_TRACE(v1::Lifecycle_Name(from));
    state_.Clear();
    GivenRegistered();
    if (from != v1::LIFECYCLE_POTENTIAL) Given({LifecycleChanged(v1::LIFECYCLE_POTENTIAL, from)});
    When(DecideConvertOnOpportunityWon(state_, "opp-7", ctx_));
    v1::CustomerEvent expected = Event(R"pb(lifecycle_changed {
                                              to: LIFECYCLE_COOPERATING
                                              reason: "opportunity opp-7 won"
                                              opportunity_id: "opp-7"
                                            })pb");
    expected.mutable_lifecycle_changed()->set_from(from);
    Then({expected});
    EXPECT_EQ(state_.lifecycle(), v1::LIFECYCLE_COOPERATING);
  }
}

TEST_F(CustomerTest, AWonOpportunityLeavesACooperatingOrChurnedCustomerAsItIs) {
  for (v1::Lifecycle from : {v1::LIFECYCLE_COOPERATING, v1::LIFECYCLE_CHURNED}) {
    SCOPED_TRACE(v1::Lifecycle_Name(from));
    state_.Clear();
    Given({Registered(), LifecycleChanged(v1::LIFECYCLE_POTENTIAL, from)});
    When(DecideConvertOnOpportunityWon(state_, "opp-7", ctx_));
    ThenNoEvents();
    EXPECT_EQ(state_.lifecycle(), from);
  }
}

TEST_F(CustomerTest, AConversionNeedsTheCustomerAndTheOpportunity) {
  When(DecideConvertOnOpportunityWon(state_, "opp-7", ctx_));
  ThenCustomerNotFound();
  GivenRegistered();
  When(DecideConvertOnOpportunityWon(state_, " ", ctx_));
  ThenError(Code::kInvalidArgument, "opportunity_id", "opportunity_id: required");
  When(DecideConvertOnOpportunityWon(state_, Long(257), ctx_));
  ThenError(Code::kInvalidArgument, "opportunity_id");
}

// =============================================================================
// AssignOwner
// =============================================================================

TEST_F(CustomerTest, AssignOwnerKeepsTheRegionWhenOnlyTheOwnerChanges) {
  GivenRegistered();
  When(TextProto<v1::AssignOwnerRequest>(R"pb(owner: "rep-2" reason: "rep-1 left")pb"));
  Then({Event(R"pb(owner_assigned {
                     change {
                       from_owner: "rep-1"
                       from_region: "north"
                       to_owner: "rep-2"
                       to_region: "north"
                       reason: "rep-1 left"
                       changed_by: "alice"
                       changed_at { seconds: 1710489600 }
                     }
                   })pb")});
  EXPECT_EQ(state_.owner(), "rep-2");
  EXPECT_EQ(state_.region(), "north");
  ASSERT_EQ(state_.ownership_history_size(), 2);
  EXPECT_EQ(state_.ownership_history(1).to_owner(), "rep-2");
}

TEST_F(CustomerTest, AssignOwnerCanMoveOnlyTheRegion) {
  GivenRegistered();
  When(TextProto<v1::AssignOwnerRequest>(R"pb(region: "south")pb"));
  Then({Event(R"pb(owner_assigned {
                     change {
                       from_owner: "rep-1"
                       from_region: "north"
                       to_owner: "rep-1"
                       to_region: "south"
                       changed_by: "alice"
                       changed_at { seconds: 1710489600 }
                     }
                   })pb")});
  EXPECT_EQ(state_.owner(), "rep-1");
  EXPECT_EQ(state_.region(), "south");
}

TEST_F(CustomerTest, AssignOwnerCanChangeBoth) {
  GivenRegistered();
  When(TextProto<v1::AssignOwnerRequest>(R"pb(owner: "rep-9" region: "east" reason: "reorg")pb"));
  Then({Event(R"pb(owner_assigned {
                     change {
                       from_owner: "rep-1"
                       from_region: "north"
                       to_owner: "rep-9"
                       to_region: "east"
                       reason: "reorg"
                       changed_by: "alice"
                       changed_at { seconds: 1710489600 }
                     }
                   })pb")});
}

class AssignOwnerBadInput : public BadInputTest<v1::AssignOwnerRequest> {
 protected:
  void SetUp() override { GivenRegistered(); }
};
TEST_P(AssignOwnerBadInput, IsRefused) { Run(R"pb(owner: "rep-2")pb"); }
INSTANTIATE_TEST_SUITE_P(Cases, AssignOwnerBadInput,
                         ValuesIn(std::vector<BadCase>{
                             {"NeitherOwnerNorRegion", R"pb(owner: "")pb", "owner",
                              Code::kInvalidArgument, "owner: owner or region required"},
                             {"BothBlank", R"pb(owner: " " region: "  ")pb", "owner"},
                             {"OwnerTooLong", "owner: '" + Long(257) + "'", "owner"},
                             {"RegionTooLong", "region: '" + Long(257) + "'", "region"},
                             {"ReasonTooLong", "reason: '" + Long(2001) + "'", "reason"},
                             {"AlreadyTheOwner", R"pb(owner: "rep-1")pb", "owner",
                              Code::kFailedPrecondition,
                              "owner: already the owner and region (rep-1, north)"},
                             {"AlreadyOwnerAndRegion", R"pb(owner: "rep-1" region: "north")pb",
                              "owner", Code::kFailedPrecondition},
                             {"AlreadyTheRegion", R"pb(owner: "" region: "north")pb", "owner",
                              Code::kFailedPrecondition},
                         }),
                         CaseName);

// =============================================================================
// SetVerification
// =============================================================================

TEST_F(CustomerTest, VerifyThenDiscard) {
  GivenRegistered();
  When(TextProto<v1::SetVerificationRequest>(R"pb(verification: VERIFICATION_STATE_VERIFIED
                                              note: "called the company")pb"));
  Then({Event(R"pb(verification_changed {
                     from: VERIFICATION_STATE_UNVERIFIED
                     to: VERIFICATION_STATE_VERIFIED
                     note: "called the company"
                   })pb")});
  EXPECT_EQ(state_.verification(), v1::VERIFICATION_STATE_VERIFIED);
  When(TextProto<v1::SetVerificationRequest>(R"pb(verification: VERIFICATION_STATE_DISCARDED)pb"));
  Then({Event(R"pb(verification_changed {
                     from: VERIFICATION_STATE_VERIFIED
                     to: VERIFICATION_STATE_DISCARDED
                   })pb")});
  EXPECT_EQ(state_.verification(), v1::VERIFICATION_STATE_DISCARDED);
}

TEST_F(CustomerTest, VerifyingTwiceIsRefused) {
  Given({Registered(), Event(R"pb(verification_changed {
                                    from: VERIFICATION_STATE_UNVERIFIED
                                    to: VERIFICATION_STATE_VERIFIED
                                  })pb")});
  When(TextProto<v1::SetVerificationRequest>(R"pb(verification: VERIFICATION_STATE_VERIFIED)pb"));
  ThenError(Code::kFailedPrecondition, "verification", "verification: already VERIFIED");
}

class VerificationBadInput : public BadInputTest<v1::SetVerificationRequest> {
 protected:
  void SetUp() override { GivenRegistered(); }
};
TEST_P(VerificationBadInput, IsRefused) { Run(R"pb(verification: VERIFICATION_STATE_VERIFIED)pb"); }
INSTANTIATE_TEST_SUITE_P(
    Cases, VerificationBadInput,
    ValuesIn(std::vector<BadCase>{
        {"Missing", R"pb(verification: VERIFICATION_STATE_UNSPECIFIED)pb", "verification",
         Code::kInvalidArgument, "verification: required"},
        {"BackToUnverified", R"pb(verification: VERIFICATION_STATE_UNVERIFIED)pb", "verification",
         Code::kInvalidArgument, "verification: must be VERIFIED or DISCARDED, not UNVERIFIED"},
        {"Unknown", R"pb(verification: 9)pb", "verification", Code::kInvalidArgument,
         "verification: unknown value 9"},
        {"NoteTooLong", "note: '" + Long(2001) + "'", "note"},
    }),
    CaseName);

// =============================================================================
// GrantAccess / RevokeAccess
// =============================================================================

constexpr int64_t kIn30Days = 1710489600 + 30 * 86400;
constexpr int64_t kIn366Days = 1710489600 + 366 * 86400;

TEST_F(CustomerTest, GrantAccessRecordsWhoGrantedIt) {
  GivenRegistered();
  When(TextProto<v1::GrantAccessRequest>("subject: 'auditor' expires_at { seconds: " +
                                     std::to_string(kIn30Days) + " } reason: 'annual audit'"));
  Then({Event("access_granted { grant { subject: 'auditor' expires_at { seconds: " +
              std::to_string(kIn30Days) + " } granted_by: 'alice' reason: 'annual audit' } }")});
  ASSERT_EQ(state_.access_grants_size(), 1);
  EXPECT_EQ(state_.access_grants(0).granted_by(), "alice");
}

TEST_F(CustomerTest, GrantAccessUpTo366DaysAhead) {
  GivenRegistered();
  When(TextProto<v1::GrantAccessRequest>(
      "subject: 'auditor' expires_at { seconds: " + std::to_string(kIn366Days) + " }"));
  Then({Event("access_granted { grant { subject: 'auditor' expires_at { seconds: " +
              std::to_string(kIn366Days) + " } granted_by: 'alice' } }")});
}

TEST_F(CustomerTest, ANewGrantReplacesTheSubjectsPreviousOne) {
  Given({Registered(), Granted("auditor", kIn30Days), Granted("lawyer", kIn30Days)});
  When(TextProto<v1::GrantAccessRequest>(
      "subject: 'auditor' expires_at { seconds: " + std::to_string(kIn30Days + 86400) + " }"));
  Then({Event("access_granted { grant { subject: 'auditor' expires_at { seconds: " +
              std::to_string(kIn30Days + 86400) + " } granted_by: 'alice' } }")});
  ASSERT_EQ(state_.access_grants_size(), 2);
  EXPECT_EQ(state_.access_grants(0).subject(), "lawyer");
  EXPECT_EQ(state_.access_grants(1).subject(), "auditor");
  EXPECT_EQ(state_.access_grants(1).expires_at().seconds(), kIn30Days + 86400);
}

class GrantBadInput : public BadInputTest<v1::GrantAccessRequest> {
 protected:
  void SetUp() override { GivenRegistered(); }
};
TEST_P(GrantBadInput, IsRefused) { Run(""); }
INSTANTIATE_TEST_SUITE_P(
    Cases, GrantBadInput,
    ValuesIn(std::vector<BadCase>{
        {"SubjectMissing", "expires_at { seconds: " + std::to_string(kIn30Days) + " }", "subject",
         Code::kInvalidArgument, "subject: required"},
        {"SubjectBlank", "subject: ' ' expires_at { seconds: " + std::to_string(kIn30Days) + " }",
         "subject"},
        {"SubjectTooLong",
         "subject: '" + Long(257) + "' expires_at { seconds: " + std::to_string(kIn30Days) + " }",
         "subject"},
        {"ExpiryMissing", R"pb(subject: "auditor")pb", "expires_at", Code::kInvalidArgument,
         "expires_at: required"},
        {"ExpiryNow", R"pb(subject: "auditor"
                           expires_at { seconds: 1710489600 })pb",
         "expires_at", Code::kInvalidArgument, "expires_at: must be in the future"},
        {"ExpiryPast", R"pb(subject: "auditor"
                            expires_at { seconds: 1700000000 })pb",
         "expires_at"},
        {"ExpiryTooFar",
         "subject: 'auditor' expires_at { seconds: " + std::to_string(kIn366Days) + " nanos: 1 }",
         "expires_at", Code::kInvalidArgument, "expires_at: at most 366 days ahead"},
        {"ExpiryNotATimestamp",
         "subject: 'auditor' expires_at { seconds: " + std::to_string(kIn30Days) + " nanos: -1 }",
         "expires_at", Code::kInvalidArgument, "expires_at: not a valid timestamp"},
        {"ReasonTooLong",
         "subject: 'auditor' expires_at { seconds: " + std::to_string(kIn30Days) + " } reason: '" +
             Long(2001) + "'",
         "reason"},
    }),
    CaseName);

TEST_F(CustomerTest, RevokeAccessRemovesTheGrant) {
  Given({Registered(), Granted("auditor", kIn30Days), Granted("lawyer", kIn30Days)});
  When(TextProto<v1::RevokeAccessRequest>(R"pb(subject: "auditor")pb"));
  Then({Event(R"pb(access_revoked { subject: "auditor" revoked_by: "alice" })pb")});
  ASSERT_EQ(state_.access_grants_size(), 1);
  EXPECT_EQ(state_.access_grants(0).subject(), "lawyer");
}

TEST_F(CustomerTest, AnExpiredGrantCanStillBeRevoked) {
  Given({Registered(), Granted("auditor", 1700000000)});
  When(TextProto<v1::RevokeAccessRequest>(R"pb(subject: "auditor")pb"));
  Then({Event(R"pb(access_revoked { subject: "auditor" revoked_by: "alice" })pb")});
}

class RevokeBadInput : public BadInputTest<v1::RevokeAccessRequest> {
 protected:
  void SetUp() override { Given({Registered(), Granted("auditor", kIn30Days)}); }
};
TEST_P(RevokeBadInput, IsRefused) { Run(""); }
INSTANTIATE_TEST_SUITE_P(Cases, RevokeBadInput,
                         ValuesIn(std::vector<BadCase>{
                             {"SubjectMissing", "", "subject", Code::kInvalidArgument,
                              "subject: required"},
                             {"NoGrant", R"pb(subject: "stranger")pb", "subject", Code::kNotFound,
                              "subject: no access grant for stranger"},
                         }),
                         CaseName);

TEST_F(CustomerTest, ARevokedGrantCannotBeRevokedAgain) {
  Given({Registered(), Granted("auditor", kIn30Days),
         Event(R"pb(access_revoked { subject: "auditor" revoked_by: "gm" })pb")});
  When(TextProto<v1::RevokeAccessRequest>(R"pb(subject: "auditor")pb"));
  ThenError(Code::kNotFound, "subject");
}

// =============================================================================
// Apply: folding events into the state
// =============================================================================

TEST_F(CustomerTest, RegisteredSetsCreationTimesVerificationAndFirstOwner) {
  GivenRegistered();
  const auto expected = TextProto<v1::Customer>(
      R"pb(
        customer_id: "cust-1"
        version: 1
        basic { name: "Acme Ltd" address: "1 Harbour Road" website: "https://acme.example" }
        characteristics {}
        source {}
        verification: VERIFICATION_STATE_UNVERIFIED
        lifecycle: LIFECYCLE_POTENTIAL
        owner: "rep-1"
        region: "north"
        ownership_history {
          to_owner: "rep-1"
          to_region: "north"
          changed_by: "bob"
          changed_at { seconds: 1710403200 }
        }
        created_at { seconds: 1710403200 }
        updated_at { seconds: 1710403200 })pb");
  EXPECT_THAT(state_, EqualsProto(expected));
}

TEST_F(CustomerTest, EveryEventMovesVersionAndUpdatedAtButNotCreatedAt) {
  GivenRegistered();
  Fold(ContactAdded("c-1", "Li"), kNow, "alice");
  EXPECT_EQ(state_.version(), 2u);
  EXPECT_EQ(state_.created_at().seconds(), 1710403200);
  EXPECT_EQ(state_.updated_at().seconds(), 1710489600);
  Apply(state_, Event(R"pb(contact_removed { contact_id: "c-1" })pb"),
        {.version = 7, .occurred_at = kNow + absl::Milliseconds(1500), .actor = "carol"});
  EXPECT_EQ(state_.version(), 7u);
  EXPECT_EQ(state_.updated_at().seconds(), 1710489601);
  EXPECT_EQ(state_.updated_at().nanos(), 500000000);
}

TEST_F(CustomerTest, RegisteredWithoutLifecycleFoldsToPotential) {
  Given({Event(R"pb(registered {
                      basic { name: "A" }
                      owner: "o"
                      region: "r"
                    })pb")});
  EXPECT_EQ(state_.lifecycle(), v1::LIFECYCLE_POTENTIAL);
}

TEST_F(CustomerTest, EventsThatCannotApplyOnlyMoveTheVersion) {
  GivenRegistered();
  const v1::Customer before = state_;
  Given(
      {Event("customer_id: 'cust-1'"),  // no kind (e.g. one of a newer schema)
       Event(R"pb(contact_updated {
                    contact {
                      contact_id: "c-9"
                      personal { name: "X" }
                    }
                  })pb"),
       Event(R"pb(contact_removed { contact_id: "c-9" })pb"),
       Event(R"pb(agreement_status_changed { agreement_id: "a-9" to: AGREEMENT_STATUS_SIGNED })pb"),
       Event(R"pb(access_revoked { subject: "nobody" })pb"),
       Event(R"pb(updated { paths: "basic.colour" paths: "owner" })pb")});
  EXPECT_EQ(state_.version(), 7u);
  v1::Customer normalized = state_;
  normalized.set_version(before.version());
  EXPECT_THAT(normalized, EqualsProto(before));
}

TEST_F(CustomerTest, OwnerAssignedAppendsToTheHistory) {
  GivenRegistered();
  Given({Event(R"pb(owner_assigned {
                      change {
                        from_owner: "rep-1"
                        from_region: "north"
                        to_owner: "rep-2"
                        to_region: "north"
                      }
                    })pb"),
         Event(R"pb(owner_assigned {
                      change {
                        from_owner: "rep-2"
                        from_region: "north"
                        to_owner: "rep-3"
                        to_region: "west"
                      }
                    })pb")});
  EXPECT_EQ(state_.owner(), "rep-3");
  EXPECT_EQ(state_.region(), "west");
  ASSERT_EQ(state_.ownership_history_size(), 3);
  EXPECT_EQ(state_.ownership_history(0).to_owner(), "rep-1");
  EXPECT_EQ(state_.ownership_history(1).to_owner(), "rep-2");
  EXPECT_EQ(state_.ownership_history(2).from_owner(), "rep-2");
}

TEST_F(CustomerTest, ReplayingTheStreamRebuildsTheSameState) {
  GivenRegistered();
  When(TextProto<v1::AddContactRequest>(R"pb(contact { personal { name: "Li" } })pb"));
  Then({Event(R"pb(contact_added {
                     contact {
                       contact_id: "id-1"
                       personal { name: "Li" }
                     }
                   })pb")});
  When(TextProto<v1::RecordAgreementRequest>(R"pb(agreement { title: "T" })pb"));
  Then({Event(R"pb(agreement_recorded {
                     agreement { agreement_id: "id-2" title: "T" status: AGREEMENT_STATUS_DRAFTED }
                   })pb")});
  When(TextProto<v1::ChangeLifecycleRequest>(R"pb(lifecycle: LIFECYCLE_FOLLOWING)pb"));
  Then({Event(R"pb(lifecycle_changed { from: LIFECYCLE_POTENTIAL to: LIFECYCLE_FOLLOWING })pb")});
  When(TextProto<v1::UpdateCustomerRequest>(R"pb(update_paths: "basic.industry"
                                             basic { industry: "retail" })pb"));
  Then({Event(R"pb(updated {
                     paths: "basic.industry"
                     basic { industry: "retail" }
                   })pb")});
  v1::Customer replayed;
  for (const auto& [event, meta] : log_) Apply(replayed, event, meta);
  EXPECT_THAT(replayed, EqualsProto(state_));
  EXPECT_EQ(replayed.version(), 5u);
}

// =============================================================================
// EventType, NormalizeName, NormalizeRegistrationNumber
// =============================================================================

TEST(EventTypeTest, NamesTheMessageOfTheSetKind) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"registered {}", "crm.customer.v1.CustomerRegistered"},
      {"updated {}", "crm.customer.v1.CustomerUpdated"},
      {"contact_added {}", "crm.customer.v1.ContactAdded"},
      {"contact_updated {}", "crm.customer.v1.ContactUpdated"},
      {"contact_removed {}", "crm.customer.v1.ContactRemoved"},
      {"transaction_recorded {}", "crm.customer.v1.TransactionRecorded"},
      {"agreement_recorded {}", "crm.customer.v1.AgreementRecorded"},
      {"agreement_status_changed {}", "crm.customer.v1.AgreementStatusChanged"},
      {"lifecycle_changed {}", "crm.customer.v1.LifecycleChanged"},
      {"owner_assigned {}", "crm.customer.v1.OwnerAssigned"},
      {"verification_changed {}", "crm.customer.v1.VerificationChanged"},
      {"access_granted {}", "crm.customer.v1.AccessGranted"},
      {"access_revoked {}", "crm.customer.v1.AccessRevoked"},
      {"access_requested {}", "crm.customer.v1.AccessRequested"},
      {"access_request_approved {}", "crm.customer.v1.AccessRequestApproved"},
      {"access_request_denied {}", "crm.customer.v1.AccessRequestDenied"},
  };
  // Every kind of the oneof is covered.
  ASSERT_EQ(static_cast<int>(cases.size()),
            v1::CustomerEvent::descriptor()->FindOneofByName("kind")->field_count());
  for (const auto& [text, type] : cases) {
    EXPECT_EQ(EventType(Event(text)), type) << text;
  }
  EXPECT_EQ(EventType(v1::CustomerEvent()), "");
}

TEST(NormalizeNameTest, Cases) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"ACME  Co., Ltd.", "acme co ltd"},
      {"  Acme Co Ltd  ", "acme co ltd"},
      {"Acme Co.,Ltd", "acme co ltd"},
      {"acme\tco\nltd", "acme co ltd"},
      {"Acme, Inc.", "acme inc"},
      {"A.B.C. Corp", "abc corp"},
      {"\xEF\xBC\xA1\xEF\xBC\xA3\xEF\xBC\xAD\xEF\xBC\xA5\xE3\x80\x80\xEF\xBC\xAC\xEF\xBD\x94\xEF"
       "\xBD\x84",
       "acme ltd"},  // ＡＣＭＥ　Ｌｔｄ
      {"华为技术（深圳）有限公司", "华为技术(深圳)有限公司"},
      {"华为技术(深圳)有限公司。", "华为技术(深圳)有限公司"},
      {"北京、上海 贸易公司", "北京上海 贸易公司"},
      {"Müller GmbH", "müller gmbh"},
      {"", ""},
      {" \t ", ""},
      {"Acme\xFF", "acme\xFF"},  // invalid bytes pass through
  };
  for (const auto& [in, out] : cases) EXPECT_EQ(NormalizeName(in), out) << in;
  EXPECT_EQ(NormalizeName("ACME  Co., Ltd."), NormalizeName("acme co ltd"));
  EXPECT_NE(NormalizeName("Acme Ltd"), NormalizeName("Acme Group Ltd"));
}

TEST(NormalizeRegistrationNumberTest, Cases) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"91 3100-00MA1 fl", "91310000MA1FL"},
      {"91310000MA1FL", "91310000MA1FL"},
      {"\xEF\xBC\x99\xEF\xBC\x91\xEF\xBC\x8D\xEF\xBD\x81", "91A"},  // ９１－ａ
      {" ab-cd\t12 ", "ABCD12"},
      {"", ""},
  };
  for (const auto& [in, out] : cases) EXPECT_EQ(NormalizeRegistrationNumber(in), out) << in;
}

}  // namespace
}  // namespace crm::customer
