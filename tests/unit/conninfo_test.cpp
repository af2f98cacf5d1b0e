// The database connection string may not weaken TLS (CHAT-05/WEB-14: verified TLS 1.3 on
// every network link to PostgreSQL, for the server and the worker alike).
#include <gtest/gtest.h>

#include "db/pg.hpp"

namespace redoubt::db {
namespace {

TEST(Conninfo, VerifiedTlsToATcpHostIsAccepted) {
  EXPECT_TRUE(check_conninfo_security("host=db.internal dbname=redoubt user=redoubt_app sslmode=verify-full"));
  EXPECT_TRUE(check_conninfo_security("host=db1,db2 port=5432,5433 sslmode=verify-full sslrootcert=/etc/ca.crt "
                                      "target_session_attrs=read-write ssl_min_protocol_version=TLSv1.3"));
  EXPECT_TRUE(check_conninfo_security("postgresql://redoubt_app@db.internal/redoubt?sslmode=verify-full"));
}

TEST(Conninfo, AnythingLessThanVerifyFullToATcpHostIsRefused) {
  for (const char* mode : {"disable", "allow", "prefer", "require", "verify-ca"}) {
    auto r = check_conninfo_security(std::string("host=db.internal dbname=redoubt sslmode=") + mode);
    ASSERT_FALSE(r) << mode;
    EXPECT_EQ(r.error().code, errc::invalid_argument);
    EXPECT_NE(r.error().message.find("verify-full"), std::string::npos);
  }
  EXPECT_FALSE(check_conninfo_security("host=db.internal dbname=redoubt")) << "libpq's default is prefer";
  EXPECT_FALSE(check_conninfo_security("hostaddr=10.0.0.5 dbname=redoubt sslmode=require"));
  // One TCP host in a failover list is enough to need TLS.
  EXPECT_FALSE(check_conninfo_security("host=/var/run/postgresql,db2.internal sslmode=prefer"));
  EXPECT_FALSE(check_conninfo_security("postgresql://db.internal/redoubt?sslmode=require"));
}

TEST(Conninfo, OnlyTls13MayBeTheMinimum) {
  auto r = check_conninfo_security("host=db.internal sslmode=verify-full ssl_min_protocol_version=TLSv1.2");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("TLSv1.3"), std::string::npos);
}

TEST(Conninfo, UnixSocketsNeedNoTls) {
  EXPECT_TRUE(check_conninfo_security("host=/var/run/postgresql dbname=redoubt user=redoubt_app"));
  EXPECT_TRUE(check_conninfo_security("dbname=redoubt user=redoubt_app"));  // libpq's default socket
}

TEST(Conninfo, PasswordsAndGarbageAreRefused) {
  EXPECT_FALSE(check_conninfo_security("host=db.internal sslmode=verify-full password=hunter2"));
  EXPECT_FALSE(check_conninfo_security("postgresql://u:hunter2@db.internal/redoubt?sslmode=verify-full"));
  EXPECT_FALSE(check_conninfo_security("host='unterminated"));
}

}  // namespace
}  // namespace redoubt::db
