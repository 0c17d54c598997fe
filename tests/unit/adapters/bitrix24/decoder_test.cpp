// adapters/bitrix24/wire: Bitrix24's outbound events, verbatim from reference/bitrix24.md §1.2,
// form-encoded as the portal posts them.
#include "adapters/bitrix24/wire/decoder.hpp"

#include <string>

#include <doctest/doctest.h>

#include "adapters/bitrix24/wire/form.hpp"
#include "src/common/time.hpp"

namespace fg::adapters::bitrix24 {
namespace decoder_test {

// Sample I: sample A as PHP's http_build_query encodes it.
constexpr const char* kSampleI =
    "event=ONCRMDEALADD&event_handler_id=975&data%5BFIELDS%5D%5BID%5D=7405&ts=1766047124&auth%"
    "5Bdomain%5D=some-domain.bitrix24.com&auth%5Bclient_endpoint%5D=https%3A%2F%2Fsome-domain."
    "bitrix24.com%2Frest%2F&auth%5Bserver_endpoint%5D=https%3A%2F%2Foauth.bitrix.info%2Frest%2F&"
    "auth%5Bmember_id%5D=d897063e1ce7c5eb9f04b9751eef5915&auth%5Bapplication_token%5D="
    "jvh9y1ulvt2m6k5or90v9mg8nn32ozas";

// Sample B, an app's event with OAuth tokens, with literal brackets.
constexpr const char* kSampleB =
    "event=ONCRMDEALUPDATE&event_handler_id=201&data[FIELDS][ID]=759&ts=1736405807&"
    "auth[access_token]=s6p6eclrvim6da22ft9ch94ekreb52lv&auth[expires_in]=3600&auth[scope]=crm&"
    "auth[domain]=some-domain.bitrix24.com&auth[server_endpoint]=https%3A%2F%2Foauth.bitrix.info%"
    "2Frest%2F&auth[status]=F&auth[client_endpoint]=https%3A%2F%2Fsome-domain.bitrix24.com%2Frest%"
    "2F&auth[member_id]=a223c6b3710f85df22e9377d6c4f7553&auth[refresh_token]="
    "4s386p3q0tr8dy89xvmt96234v3dljg8&auth[application_token]=51856fefc120afa4b628cc82d3935cce";

crm::WebhookRequest Request(std::string body) {
    return {.tenant = "acme",
            .content_type = "application/x-www-form-urlencoded",
            .body = std::move(body),
            .received_at = *ParseIso8601("2026-11-02T09:00:00Z")};
}

crm::Decoded DecodeOk(const std::string& body) {
    const Bitrix24Decoder decoder;
    const Result<crm::Decoded> decoded = decoder.DecodeElements(Request(body));
    REQUIRE_MESSAGE(decoded, (decoded ? "" : decoded.error().message));
    return *decoded;
}

TEST_CASE("The form parser reads PHP bracket keys, encoded or literal, + as a space, UTF-8") {
    const Result<nlohmann::json> form = form::Parse(
        "a%5Bb%5D%5Bc%5D=1&a[b][d]=x+y&t=%D0%A1%D0%B4%D0%B5%D0%BB%D0%BA%D0%B0&l[]=p&l[]=q");
    REQUIRE(form);
    CHECK((*form)["a"]["b"]["c"] == "1");
    CHECK((*form)["a"]["b"]["d"] == "x y");
    CHECK((*form)["t"] == "Сделка");
    CHECK((*form)["l"]["0"] == "p");
    CHECK((*form)["l"]["1"] == "q");
    SUBCASE("a scalar and a map under one key: the map wins") {
        const Result<nlohmann::json> both = form::Parse("d[F]=undefined&d[F][ID]=5");
        REQUIRE(both);
        CHECK((*both)["d"]["F"]["ID"] == "5");
    }
    SUBCASE("what is not a form") {
        CHECK(form::Parse("a=%D0%9").error().message.find("percent-encoding") != std::string::npos);
        CHECK(form::Parse("a[b=1").error().message.find("brackets") != std::string::npos);
        CHECK(form::Parse("a=%FF%FE").error().message.find("UTF-8") != std::string::npos);
    }
}

TEST_CASE("Deal events become references to fetch; a deletion is an event at the portal's ts") {
    SUBCASE("sample I (outgoing webhook, encoded brackets)") {
        const crm::Decoded decoded = DecodeOk(kSampleI);
        CHECK(decoded.events.empty());
        CHECK(decoded.failed.empty());
        CHECK(decoded.fetch == std::vector<std::string>{"deal:7405"});
    }
    SUBCASE("sample B (an app's update, literal brackets)") {
        CHECK(DecodeOk(kSampleB).fetch == std::vector<std::string>{"deal:759"});
    }
    SUBCASE("sample H (move to another pipeline)") {
        CHECK(DecodeOk("event=ONCRMDEALMOVETOCATEGORY&event_handler_id=655&data[FIELDS][ID]=6675&"
                       "data[FIELDS][CATEGORY_ID]=1&data[FIELDS][STAGE_ID]=C1%3ANEW&ts=1736424182")
                  .fetch == std::vector<std::string>{"deal:6675"});
    }
    SUBCASE("a deletion") {
        const crm::Decoded decoded =
            DecodeOk("event=ONCRMDEALDELETE&data[FIELDS][ID]=662&ts=1736405807");
        REQUIRE(decoded.events.size() == 1);
        CHECK(decoded.fetch.empty());
        CHECK(std::get<domain::DealDeleted>(decoded.events[0].body).deal_id == "662");
        CHECK(FormatIso8601(decoded.events[0].at) == "2025-01-09T06:56:47Z");
    }
}

TEST_CASE("Activity, task and timeline comment events, in every case and shape") {
    SUBCASE("sample E in camel case") {
        CHECK(DecodeOk("event=onCrmActivityAdd&data[FIELDS][ID]=999&ts=1466439714").fetch ==
              std::vector<std::string>{"activity:999"});
    }
    SUBCASE("an activity deleted") {
        const crm::Decoded decoded =
            DecodeOk("event=ONCRMACTIVITYDELETE&data[FIELDS][ID]=999&ts=1466439714");
        REQUIRE(decoded.events.size() == 1);
        CHECK(std::get<domain::TaskDeleted>(decoded.events[0].body).task_id == "todo:999");
    }
    SUBCASE("sample D: FIELDS_BEFORE=undefined on an add, the id after") {
        CHECK(DecodeOk("event=ONTASKADD&data[FIELDS_BEFORE]=undefined&data[FIELDS_AFTER][ID]=123&"
                       "data[IS_ACCESSIBLE_BEFORE]=N&data[IS_ACCESSIBLE_AFTER]=undefined&"
                       "ts=1466439714")
                  .fetch == std::vector<std::string>{"task:123"});
        CHECK(DecodeOk("event=ONTASKUPDATE&data[FIELDS_BEFORE][ID]=123&data[FIELDS_AFTER][ID]=123&"
                       "ts=1466439714")
                  .fetch == std::vector<std::string>{"task:123"});
    }
    SUBCASE("sample D: a task deleted, the id before") {
        const crm::Decoded decoded = DecodeOk(
            "event=ONTASKDELETE&data[FIELDS_BEFORE][ID]=123&data[FIELDS_AFTER]=undefined&"
            "data[IS_ACCESSIBLE_BEFORE]=undefined&data[IS_ACCESSIBLE_AFTER]=N&"
            "ts=1466439714");
        REQUIRE(decoded.events.size() == 1);
        CHECK(std::get<domain::TaskDeleted>(decoded.events[0].body).task_id == "task:123");
    }
    SUBCASE("sample G: both comment-id shapes") {
        CHECK(DecodeOk("event=onCrmTimelineCommentAdd&data[ID]=999&ts=1466439714").fetch ==
              std::vector<std::string>{"comment:999"});
        CHECK(DecodeOk("event=ONCRMTIMELINECOMMENTADD&data[FIELDS][ID]=12&ts=1466439714").fetch ==
              std::vector<std::string>{"comment:12"});
    }
}

TEST_CASE("Entities the rules do not judge are ignored by name; an event without an id fails") {
    CHECK(DecodeOk("event=ONCRMCONTACTADD&event_handler_id=196&data[FIELDS][ID]=264442&"
                   "ts=1762089975&auth[application_token]=e24831714bb347622e3ef25af61525cf")
              .ignored == std::map<std::string, int>{{"contact", 1}});
    CHECK(DecodeOk("event=ONCRMLEADUPDATE&data[FIELDS][ID]=1").ignored.count("lead") == 1);
    CHECK(DecodeOk("event=ONCRMCOMPANYADD&data[FIELDS][ID]=1").ignored.count("company") == 1);
    CHECK(DecodeOk("event=ONCRMDYNAMICITEMUPDATE&data[FIELDS][ID]=1")
              .ignored.count("smart process") == 1);
    CHECK(
        DecodeOk("event=ONTASKCOMMENTADD&data[FIELDS_AFTER][ID]=1").ignored.count("task comment") ==
        1);
    const crm::Decoded broken = DecodeOk("event=ONCRMDEALUPDATE&data[FIELDS][ID]=undefined");
    REQUIRE(broken.failed.size() == 1);
    CHECK(broken.failed[0].find("ONCRMDEALUPDATE") != std::string::npos);
    CHECK(broken.fetch.empty());
}

TEST_CASE("Validate refuses what is not an event before the 200; Decode is all or nothing") {
    const Bitrix24Decoder decoder;
    CHECK(decoder.Validate(kSampleI));
    CHECK_FALSE(decoder.Validate("data[FIELDS][ID]=1"));
    CHECK_FALSE(decoder.Validate("event=ONCRMDEALADD&data[FIELDS][ID=1"));
    CHECK_FALSE(decoder.ValidateAndDecode(Request("ts=1")));
    CHECK(decoder.Decode(Request(kSampleI)).error().code == ErrorCode::kUnavailable);
    CHECK(decoder.Decode(Request("event=ONCRMDEALDELETE&data[FIELDS][ID]=1&ts=5"))->size() == 1);
}

TEST_CASE("The application token is read from the body, and every token is scrubbed from it") {
    CHECK(ApplicationToken(kSampleI) == "jvh9y1ulvt2m6k5or90v9mg8nn32ozas");
    CHECK(ApplicationToken(kSampleB) == "51856fefc120afa4b628cc82d3935cce");
    CHECK(ApplicationToken("event=X").empty());
    const std::string scrubbed = ScrubTokens(kSampleB);
    CHECK(scrubbed.find("s6p6eclrvim6da22ft9ch94ekreb52lv") == std::string::npos);
    CHECK(scrubbed.find("4s386p3q0tr8dy89xvmt96234v3dljg8") == std::string::npos);
    CHECK(scrubbed.find("51856fefc120afa4b628cc82d3935cce") == std::string::npos);
    CHECK(scrubbed.find("auth[member_id]=a223c6b3710f85df22e9377d6c4f7553") != std::string::npos);
    CHECK(ScrubTokens(kSampleI).find("jvh9y1ulvt2m6k5or90v9mg8nn32ozas") == std::string::npos);
    // Scrubbed, the body decodes and dedupes as before.
    const Bitrix24Decoder decoder;
    CHECK(DecodeOk(scrubbed).fetch == DecodeOk(kSampleB).fetch);
    CHECK(decoder.DedupeKey(scrubbed) == decoder.DedupeKey(kSampleB));
}

TEST_CASE("The dedupe key is the event, its ids and ts") {
    const Bitrix24Decoder decoder;
    CHECK(decoder.DedupeKey(kSampleI) == decoder.DedupeKey(std::string(kSampleI)));
    CHECK(decoder.DedupeKey("event=ONCRMDEALUPDATE&data[FIELDS][ID]=1&ts=5") ==
          decoder.DedupeKey("event=onCrmDealUpdate&data%5BFIELDS%5D%5BID%5D=1&ts=5"));
    CHECK(decoder.DedupeKey("event=ONCRMDEALUPDATE&data[FIELDS][ID]=1&ts=5") !=
          decoder.DedupeKey("event=ONCRMDEALUPDATE&data[FIELDS][ID]=2&ts=5"));
    CHECK(decoder.DedupeKey("event=ONCRMDEALUPDATE&data[FIELDS][ID]=1&ts=5") !=
          decoder.DedupeKey("event=ONCRMDEALUPDATE&data[FIELDS][ID]=1&ts=6"));
}

TEST_CASE("An event of another portal is told from the tenant's by auth[domain] and member_id") {
    // Sample I is from some-domain.bitrix24.com, member d897...
    CHECK(ForeignPortal(kSampleI, "some-domain.bitrix24.com", "").empty());
    CHECK(ForeignPortal(kSampleI, "Some-Domain.Bitrix24.com", "").empty());
    CHECK(ForeignPortal(kSampleI, "", "d897063e1ce7c5eb9f04b9751eef5915").empty());
    const std::string domain = ForeignPortal(kSampleI, "acme.bitrix24.ru", "");
    CHECK(domain.find("some-domain.bitrix24.com") != std::string::npos);
    CHECK(domain.find("acme.bitrix24.ru") != std::string::npos);
    const std::string member =
        ForeignPortal(kSampleB, "some-domain.bitrix24.com", "d897063e1ce7c5eb9f04b9751eef5915");
    CHECK(member.find("member_id") != std::string::npos);
    // Neither id is repeated.
    CHECK(member.find("a223c6b3") == std::string::npos);
    CHECK(member.find("d897063e") == std::string::npos);
    // Nothing expected, or nothing named: not checked.
    CHECK(ForeignPortal(kSampleI, "", "").empty());
    CHECK(ForeignPortal("event=ONCRMDEALADD&data[FIELDS][ID]=1", "acme.bitrix24.ru",
                        "d897063e1ce7c5eb9f04b9751eef5915")
              .empty());
    // A name that is no host name is shown masked, not as sent.
    CHECK(ForeignPortal("event=ONCRMDEALADD&auth[domain]=%3Cscript%3E", "acme.bitrix24.ru", "")
              .find("<script>") == std::string::npos);
}

}  // namespace decoder_test
}  // namespace fg::adapters::bitrix24
