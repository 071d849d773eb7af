//! `surreal start …`: SurrealDB's own command line, with the community composer (the same
//! storage, router and observability choices as the released binary), for the scale-out tests.

fn main() -> std::process::ExitCode {
    surrealdb_server::init(surrealdb_server::core::CommunityComposer())
}
