// The room-event kinds and job types named in SQL (migrations/*.sql, src/storage) must be
// values of chat::room_event_kind and queue::job_type, and every value must be written
// somewhere, so the enums and the SQL cannot drift apart unnoticed.
#include <gtest/gtest.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "proto/room_event_kind.hpp"
#include "queue/job_types.hpp"

namespace redoubt {
namespace {
namespace fs = std::filesystem;

struct source {
  std::string path;
  std::string text;
};

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// `"abc "<newline>  "def"` -> `"abc def"` (std::regex is too slow for this on whole files).
std::string join_literals(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '"') {
      auto j = text.find_first_not_of(" \t\r\n", i + 1);
      if (j != std::string::npos && text[j] == '"' && text.find('\n', i + 1) < j) {
        i = j;  // drop the closing quote, the line break and the opening quote
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

// SQL text of migrations (*.sql) and of storage code (*.cpp, *.hpp). In C++ the adjacent string
// literals a query is split into are joined, so a pattern may span the line breaks.
std::vector<source> sql_sources() {
  std::vector<source> out;
  const fs::path root = REDOUBT_SOURCE_DIR;
  for (const auto* dir : {"migrations", "src/storage"}) {
    for (const auto& e : fs::recursive_directory_iterator(root / dir)) {
      const auto ext = e.path().extension();
      if (!e.is_regular_file() || (ext != ".sql" && ext != ".cpp" && ext != ".hpp")) continue;
      auto text = read_file(e.path());
      if (ext != ".sql") text = join_literals(text);
      out.push_back({fs::relative(e.path(), root).string(), std::move(text)});
    }
  }
  return out;
}

using found = std::map<std::string, std::set<std::string>>;  // literal -> files

void add_all_literals(std::string_view span, const std::string& file, found& into) {
  static const std::regex literal("'([a-z_]+)'");
  const std::string s(span);
  for (std::sregex_iterator it(s.begin(), s.end(), literal), end; it != end; ++it)
    into[(*it)[1]].insert(file);
}

// Each match of `re` that starts where `anchor` occurs (std::regex over whole files is slow).
template <class F>
void each_match(const std::string& text, std::string_view anchor, const std::regex& re, F&& f) {
  for (auto pos = text.find(anchor); pos != std::string::npos; pos = text.find(anchor, pos + 1)) {
    std::smatch m;
    const auto first = text.begin() + static_cast<std::ptrdiff_t>(pos);
    const auto last = text.begin() + static_cast<std::ptrdiff_t>(std::min(text.size(), pos + 400));
    if (std::regex_search(first, last, m, re, std::regex_constants::match_continuous)) f(m, pos);
  }
}

// room_event(<room>, <kind>, ...): the kind is a literal or a CASE over literals.
found room_event_kinds_in(const std::vector<source>& sources) {
  found out;
  static const std::regex call(R"(room_event\s*\(\s*[^,()]*,\s*)");
  for (const auto& src : sources) {
    const auto& t = src.text;
    each_match(t, "room_event", call, [&](const std::smatch& m, std::size_t pos) {
      auto arg = std::string_view(t).substr(pos + static_cast<std::size_t>(m.length()));
      if (arg.starts_with("CASE"))
        arg = arg.substr(0, arg.find("END"));
      else if (arg.starts_with("'"))
        arg = arg.substr(0, arg.find('\'', 1) + 1);
      else
        return;  // a parameter (the function's own definition, or a value from C++)
      add_all_literals(arg, src.path, out);
    });
  }
  return out;
}

// Outbox rows: INSERT INTO outbox (kind, ...) VALUES ('x' | SELECT 'x'; `kind = 'x'` in a
// statement about the outbox; and email token purposes, which are the email jobs' types.
found job_kinds_in(const std::vector<source>& sources) {
  found out;
  static const std::regex insert(
      R"(INSERT\s+INTO\s+outbox\s*\(\s*kind\b[^)]*\)\s*(?:VALUES\s*\(\s*|SELECT\s+)'([a-z_]+)')");
  static const std::regex purpose(R"(purpose\s*(?:=\s*'[a-z_]+'|IN\s*\([^)]*\)))");
  for (const auto& src : sources) {
    const auto& t = src.text;
    each_match(t, "INSERT", insert,
               [&](const std::smatch& m, std::size_t) { out[m[1]].insert(src.path); });
    for (auto pos = t.find("kind = '"); pos != std::string::npos;
         pos = t.find("kind = '", pos + 1)) {
      // Unqualified, or the outbox's own column (o.kind), not r.kind of rooms; and in a
      // statement about the outbox.
      const bool qualified = pos > 0 && t[pos - 1] == '.';
      const bool outbox_alias = qualified && pos >= 2 && t[pos - 2] == 'o' &&
                                (pos < 3 || !std::isalnum(static_cast<unsigned char>(t[pos - 3])));
      const auto start = t.rfind(';', pos);
      const auto from = start == std::string::npos ? 0 : start;
      if ((qualified && !outbox_alias) || t.find("outbox", from) > pos) continue;
      const auto value = pos + 7;  // the opening quote
      const auto close = t.find('\'', value + 1);
      if (close != std::string::npos)
        add_all_literals(std::string_view(t).substr(value, close - value + 1), src.path, out);
    }
    each_match(t, "purpose", purpose, [&](const std::smatch& m, std::size_t) {
      add_all_literals(m.str(), src.path, out);
    });
  }
  return out;
}

bool mentioned_in_code(const std::vector<source>& sources, const std::string& qualified) {
  for (const auto& src : sources)
    if (src.text.find(qualified) != std::string::npos) return true;
  return false;
}

std::string where(const std::set<std::string>& files) {
  std::string s;
  for (const auto& f : files) s += (s.empty() ? "" : ", ") + f;
  return s;
}

// Every literal found is a value of the enum, and every value (but `not_in_sql`) is found, or
// named in storage code as <enum_name>::<value>.
template <class Enum, std::size_t N, class FromString>
void expect_same_set(const found& in_sql, const std::array<Enum, N>& all, FromString from_string,
                     std::string_view enum_name, const std::vector<source>& sources,
                     std::type_identity_t<std::optional<Enum>> not_in_sql = std::nullopt) {
  for (const auto& [name, files] : in_sql)
    EXPECT_TRUE(from_string(name))
        << "'" << name << "' in " << where(files) << " is not a " << enum_name;
  for (auto value : all) {
    const std::string name(to_string(value));
    if (value == not_in_sql) continue;
    EXPECT_TRUE(in_sql.contains(name) ||
                mentioned_in_code(sources, std::string(enum_name) + "::" + name))
        << enum_name << "::" << name << " is never written by SQL";
  }
}

TEST(KindsDrift, RoomEventKindsInSqlAreTheEnum) {
  const auto sources = sql_sources();
  const auto kinds = room_event_kinds_in(sources);
  ASSERT_GE(kinds.size(), 5u)
      << "the scanner found almost no room_event() calls: is it still right?";
  // Messages are rows of their own table, written by chat::message_writer, not room_event().
  expect_same_set(kinds, chat::all_room_event_kinds, chat::room_event_kind_from_string,
                  "room_event_kind", sources, chat::room_event_kind::message);
}

TEST(KindsDrift, JobKindsInSqlAreTheEnum) {
  const auto sources = sql_sources();
  const auto kinds = job_kinds_in(sources);
  ASSERT_GE(kinds.size(), 5u) << "the scanner found almost no outbox inserts: is it still right?";
  expect_same_set(kinds, queue::all_job_types, queue::job_type_from_string, "job_type", sources);
}

// The scanner itself, on known snippets: it must see what it claims to check.
TEST(KindsDrift, ScannerFindsEveryForm) {
  const std::vector<source> sql{
      {"a.sql",
       "SELECT room_event(r, 'topic_changed', p_actor, x); "
       "SELECT room_event(r, CASE WHEN p THEN 'reaction_added' ELSE 'reaction_removed' END, u); "
       "CREATE FUNCTION room_event(p_room bigint, p_kind text) ; SELECT room_event(r, $2, a);"},
      {"b.sql",
       "INSERT INTO outbox (kind, payload) VALUES ('thumbnail', '{}'); "
       "INSERT INTO outbox (kind, payload) SELECT 'retention', '{}' WHERE NOT EXISTS "
       "(SELECT 1 FROM outbox WHERE kind = 'files_maintenance'); "
       "SELECT 1 FROM rooms r WHERE r.kind = 'direct'; "
       "CHECK (purpose IN ('verify_email', 'password_reset'))"},
  };
  auto events = room_event_kinds_in(sql);
  EXPECT_EQ(events.size(), 3u);
  EXPECT_TRUE(events.contains("reaction_removed"));
  auto jobs = job_kinds_in(sql);
  EXPECT_EQ(jobs.size(), 5u);
  EXPECT_FALSE(jobs.contains("direct"));
  EXPECT_TRUE(jobs.contains("files_maintenance"));
  EXPECT_TRUE(jobs.contains("password_reset"));
}

}  // namespace
}  // namespace redoubt
