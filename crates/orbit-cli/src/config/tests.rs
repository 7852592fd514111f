//! Layering, typed values and errors that name their source, through the real
//! providers (figment's `Jail` isolates the environment and the working directory).

use super::*;
use crate::serve::ServeArgs;
use clap::Parser;
use figment::Jail;

/// The command line of `orbit serve`, without the subcommand.
#[derive(Parser)]
struct Flags {
    #[command(flatten)]
    serve: ServeArgs,
}

fn flags(args: &[&str]) -> ServeArgs {
    let argv = std::iter::once("orbit").chain(args.iter().copied());
    Flags::try_parse_from(argv).expect("the flags parse").serve
}

/// Runs `test` with no environment variables, in an empty working directory.
#[expect(
    clippy::result_large_err,
    reason = "figment's Jail takes closures returning its own Result"
)]
fn in_jail(test: impl FnOnce(&mut Jail)) {
    Jail::expect_with(|jail| {
        jail.clear_env();
        test(jail);
        Ok(())
    });
}

/// The error `Config::load` gives, as start-up would print it.
fn refusal(file: Option<&Path>, args: &[&str]) -> String {
    match Config::load(file, &flags(args)) {
        Ok(config) => panic!("the configuration was accepted: {config:?}"),
        Err(error) => format!("{error:#}"),
    }
}

#[test]
fn without_sources_the_defaults_apply() {
    in_jail(|_| {
        let config = Config::load(None, &flags(&[])).expect("the defaults load");
        assert_eq!(config.listen, SocketAddr::from(([127, 0, 0, 1], 8080)));
        assert_eq!(config.durability, Durability::Full);
        assert_eq!(config.default_region, phonenumber::country::Id::CN);
        assert_eq!(config.max_future, jiff::SignedDuration::from_hours(24));
        assert_eq!(config.log_format, LogFormat::Text);
        assert_eq!(config.simulated_clock, None);
        assert!(config.egress_allow.is_empty());
        assert_eq!(config.public_url, None);
        assert_eq!(config.snapshot_every, Some(Duration::from_secs(600)));
        assert_eq!(config.snapshot_every_events, NonZeroU64::new(1_000_000));
    });
}

#[test]
fn flags_override_variables_which_override_the_file() {
    in_jail(|jail| {
        jail.create_file(
            "orbit.toml",
            "durability = \"normal\"\nlog_format = \"json\"\nmax_future_hours = 5\n",
        )
        .expect("the file is written");
        jail.set_env("ORBIT_LOG_FORMAT", "text");
        jail.set_env("ORBIT_MAX_FUTURE_HOURS", "6");
        let config = Config::load(None, &flags(&["--max-future-hours", "7"])).expect("loads");
        assert_eq!(config.durability, Durability::Normal);
        assert_eq!(config.log_format, LogFormat::Text);
        assert_eq!(config.max_future, jiff::SignedDuration::from_hours(7));
    });
}

#[test]
fn networks_are_a_comma_separated_string_or_a_list_and_addresses_are_single_hosts() {
    in_jail(|jail| {
        let from_flag = Config::load(None, &flags(&["--egress-allow", " 10.0.0.0/8, ::1,"])).expect("loads");
        assert_eq!(
            from_flag.egress_allow,
            vec![
                "10.0.0.0/8".parse().expect("a network"),
                "::1/128".parse().expect("a network")
            ]
        );

        jail.create_file(
            "orbit.toml",
            "egress_allow = [\"192.168.0.0/16\", \"127.0.0.1\"]\n",
        )
        .expect("the file is written");
        let from_list = Config::load(None, &flags(&[])).expect("loads");
        assert_eq!(
            from_list.egress_allow,
            vec![
                "192.168.0.0/16".parse().expect("a network"),
                "127.0.0.1/32".parse().expect("a network")
            ]
        );

        jail.set_env("ORBIT_EGRESS_ALLOW", "172.16.0.0/12");
        let from_variable = Config::load(None, &flags(&[])).expect("loads");
        assert_eq!(
            from_variable.egress_allow,
            vec!["172.16.0.0/12".parse().expect("a network")]
        );
    });
}

#[test]
fn zero_turns_either_snapshot_trigger_off() {
    in_jail(|jail| {
        jail.set_env("ORBIT_SNAPSHOT_EVERY_MINUTES", "0");
        let config = Config::load(None, &flags(&["--snapshot-every-events", "0"])).expect("loads");
        assert_eq!(config.snapshot_every, None);
        assert_eq!(config.snapshot_every_events, None);

        jail.set_env("ORBIT_SNAPSHOT_EVERY_MINUTES", "2");
        let config = Config::load(None, &flags(&["--snapshot-every-events", "50"])).expect("loads");
        assert_eq!(config.snapshot_every, Some(Duration::from_secs(120)));
        assert_eq!(config.snapshot_every_events, NonZeroU64::new(50));
    });
}

#[test]
fn text_values_are_parsed_into_their_types() {
    in_jail(|jail| {
        jail.set_env("ORBIT_SIMULATED_CLOCK", "2026-03-01T08:00:00Z");
        jail.set_env("ORBIT_DEFAULT_REGION", "US");
        let config =
            Config::load(None, &flags(&["--public-url", "https://orbit.example.cn/"])).expect("loads");
        assert_eq!(
            config.simulated_clock,
            Some("2026-03-01T08:00:00Z".parse().expect("a time"))
        );
        assert_eq!(config.default_region, phonenumber::country::Id::US);
        let bound = SocketAddr::from(([127, 0, 0, 1], 9000));
        assert_eq!(config.public_url(bound), "https://orbit.example.cn");
        assert_eq!(Config::default().public_url(bound), "http://127.0.0.1:9000");
    });
}

#[test]
fn a_bad_variable_is_named_as_a_variable() {
    in_jail(|jail| {
        jail.set_env("ORBIT_DURABILITY", "fast");
        assert_eq!(
            refusal(None, &[]),
            "invalid configuration: environment variable ORBIT_DURABILITY: \
             unknown value `fast`, expected `full` or `normal`"
        );
    });
}

#[test]
fn a_bad_flag_is_named_as_a_flag() {
    in_jail(|_| {
        assert_eq!(
            refusal(None, &["--log-format", "yaml"]),
            "invalid configuration: flag --log-format: unknown value `yaml`, expected `text` or `json`"
        );
        assert_eq!(
            refusal(None, &["--public-url", "https://orbit.example.cn/?from=mail"]),
            "invalid configuration: flag --public-url: \"https://orbit.example.cn/?from=mail\" \
             must be an http or https URL with a host and no query or fragment"
        );
    });
}

#[test]
fn a_bad_file_value_is_named_by_its_key_and_the_file() {
    in_jail(|jail| {
        jail.create_file("orbit.toml", "egress_allow = \"nonsense\"\n")
            .expect("the file is written");
        assert_eq!(
            refusal(None, &[]),
            "invalid configuration: egress_allow in orbit.toml: \
             \"nonsense\" is not a network (10.0.0.0/8) or an address"
        );

        jail.create_file("other.toml", "default_region = \"Atlantis\"\n")
            .expect("the file is written");
        assert_eq!(
            refusal(Some(&jail.directory().join("other.toml")), &[]),
            "invalid configuration: default_region in other.toml: \"Atlantis\" is not an ISO 3166 region code"
        );
    });
}

#[test]
fn a_missing_config_file_is_refused() {
    in_jail(|jail| {
        let missing = jail.directory().join("absent.toml");
        let error = Config::load(Some(&missing), &flags(&[])).expect_err("refused");
        assert!(error.to_string().contains("does not exist"), "{error}");
    });
}

#[test]
fn sessions_last_as_configured_and_an_idle_time_of_zero_is_refused() {
    in_jail(|jail| {
        let config = Config::load(None, &flags(&[])).expect("loads");
        assert_eq!(
            config.session_policy(),
            orbit_engine::service::SessionPolicy::default()
        );

        jail.set_env("ORBIT_SESSION_IDLE_MINUTES", "30");
        let config = Config::load(None, &flags(&["--session-hours", "12"])).expect("loads");
        let policy = config.session_policy();
        assert_eq!(policy.idle, jiff::SignedDuration::from_mins(30));
        assert_eq!(policy.lifetime, jiff::SignedDuration::from_hours(12));

        jail.set_env("ORBIT_SESSION_IDLE_MINUTES", "0");
        let error = Config::load(None, &flags(&[])).expect_err("refused").to_string();
        assert!(error.contains("ORBIT_SESSION_IDLE_MINUTES"), "{error}");
    });
}
