// The narration's wording: each line names the deal once.
#include "src/demo/demo.hpp"

#include <doctest/doctest.h>

namespace fg::demo {
namespace {

TEST_CASE("ShortMessage drops the deal's title the narration line already shows") {
    const std::string title = "ООО «Форвард»: годовое обслуживание";
    SUBCASE("the leading «Сделка «title»: »") {
        CHECK(ShortMessage("Сделка «" + title +
                               "»: сделка перешла из «КП отправлено» в «Счёт "
                               "выставлен». Верните сделку на этап «Переговоры».",
                           title) ==
              "сделка перешла из «КП отправлено» в «Счёт выставлен». Верните сделку на этап "
              "«Переговоры».");
    }
    SUBCASE("a leading title without a colon") {
        CHECK(ShortMessage("Сделка «" + title + "» не на своём этапе: поле заполнено.", title) ==
              "не на своём этапе: поле заполнено.");
    }
    SUBCASE("the title again inside, in a task's text") {
        CHECK(ShortMessage("Сделка «" + title +
                               "»: задача «Запланируйте следующий шаг по сделке «" + title +
                               "»» просрочена на 1 мин.",
                           title) ==
              "задача «Запланируйте следующий шаг по сделке «…»» просрочена на 1 мин.");
    }
    SUBCASE("English") {
        CHECK(ShortMessage("Deal “" + title + "”: no open task for 15 min.", title) ==
              "no open task for 15 min.");
    }
    SUBCASE("another deal's title or none stays") {
        CHECK(ShortMessage("Сделка «Другая»: нет задачи.", title) ==
              "Сделка «Другая»: нет задачи.");
        CHECK(ShortMessage("Сделка «»: нет задачи.", "") == "Сделка «»: нет задачи.");
    }
}

}  // namespace
}  // namespace fg::demo
