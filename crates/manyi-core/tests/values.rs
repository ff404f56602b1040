//! Tests for `manyi_core::values`: table tests of real-format examples for every
//! type, and property tests (no parser panics; generated valid IDs and codes
//! round-trip; money display/parse round-trips).

use jiff::Timestamp;
use jiff::civil::date;
use manyi_core::values::{
    Email, Money, PhoneKind, PhoneNumber, ResidentId, Sex, SocialCreditCode, ValueError,
    parse_date, parse_datetime,
};
use proptest::prelude::*;

// ---------------------------------------------------------------------------
// Phone numbers
// ---------------------------------------------------------------------------

#[test]
fn mobile_numbers_in_common_notations_canonicalise_to_eleven_digits() {
    let cases = [
        "13812345678",
        "138 1234 5678",
        "138-1234-5678",
        "+8613812345678",
        "+86 138 1234 5678",
        "+86-138-1234-5678",
        "008613812345678",
        "0086 138 1234 5678",
        "  13812345678\t",
        "１３８１２３４５６７８",
        "138\u{3000}1234\u{3000}5678",
    ];
    for input in cases {
        let phone = PhoneNumber::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(phone.as_str(), "13812345678", "{input:?}");
        assert_eq!(phone.kind(), PhoneKind::Mobile);
        assert_eq!(phone.last4(), "5678");
        assert_eq!(phone.masked(), "138****5678");
        assert_eq!(phone.area_code(), None);
        assert_eq!(phone.extension(), None);
    }
}

#[test]
fn every_mobile_prefix_from_13_to_19_is_accepted() {
    for second in 3..=9 {
        let input = format!("1{second}912345678");
        let phone = PhoneNumber::parse(&input).unwrap();
        assert_eq!(phone.as_str(), input);
    }
}

#[test]
fn landlines_canonicalise_to_area_hyphen_number_with_zhuan_extension() {
    let cases = [
        ("010-22345678", "010-22345678", None),
        ("010 6552 1234", "010-65521234", None),
        ("01065521234", "010-65521234", None),
        ("021-6888 8888", "021-68888888", None),
        ("0571-88888888", "0571-88888888", None),
        ("0571 8888888", "0571-8888888", None),
        ("0755-86013388-123", "0755-86013388转123", Some("123")),
        ("075586013388-123", "0755-86013388转123", Some("123")),
        ("0755-86013388转123", "0755-86013388转123", Some("123")),
        ("0755-86013388 转 123", "0755-86013388转123", Some("123")),
        ("0755-86013388-转123", "0755-86013388转123", Some("123")),
        (
            "0755-86013388转123456",
            "0755-86013388转123456",
            Some("123456"),
        ),
        ("+86 10 6552 1234", "010-65521234", None),
        ("+86-755-86013388", "0755-86013388", None),
        ("0086 21 68888888", "021-68888888", None),
        ("+86 010 65521234", "010-65521234", None),
        ("０１０－６５５２１２３４", "010-65521234", None),
    ];
    for (input, canonical, ext) in cases {
        let phone = PhoneNumber::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(phone.as_str(), canonical, "{input:?}");
        assert_eq!(phone.kind(), PhoneKind::Landline);
        assert_eq!(phone.extension(), ext, "{input:?}");
        // The canonical form is itself accepted and is a fixed point.
        assert_eq!(PhoneNumber::parse(canonical).unwrap(), phone);
    }
}

#[test]
fn landline_accessors_and_mask_hide_the_middle_of_the_number() {
    let phone = PhoneNumber::parse("010-65521234").unwrap();
    assert_eq!(phone.area_code(), Some("010"));
    assert_eq!(phone.last4(), "1234");
    assert_eq!(phone.masked(), "010-****1234");

    let phone = PhoneNumber::parse("0571-8888765转12").unwrap();
    assert_eq!(phone.area_code(), Some("0571"));
    assert_eq!(phone.last4(), "8765");
    assert_eq!(phone.masked(), "0571-***8765转12");
}

#[test]
fn invalid_phone_numbers_are_rejected_with_the_rule_that_failed() {
    let cases = [
        ("", "phone.empty"),
        ("   ", "phone.empty"),
        ("138-1234-567a", "phone.invalid_char"),
        ("(010)65521234", "phone.invalid_char"),
        ("13812345678 ext 1", "phone.invalid_char"),
        ("+852 9123 4567", "phone.country_code"),
        ("+1 415 555 0100", "phone.country_code"),
        ("00852 91234567", "phone.country_code"),
        ("1381234567", "phone.mobile"),
        ("138123456789", "phone.mobile"),
        ("12812345678", "phone.mobile"),
        ("10812345678", "phone.mobile"),
        ("+86 12812345678", "phone.mobile"),
        ("13812345678转1", "phone.mobile"),
        ("8613812345678", "phone.area_code"),
        ("011-65521234", "phone.area_code"),
        ("02", "phone.area_code"),
        ("057", "phone.area_code"),
        ("010", "phone.subscriber"),
        ("010-123456", "phone.subscriber"),
        ("010-12345678", "phone.subscriber"),
        ("010-02345678", "phone.subscriber"),
        ("010-223456789", "phone.subscriber"),
        ("0571-888888", "phone.subscriber"),
        ("010-65521234-1234567", "phone.extension"),
        ("010-65521234转", "phone.extension"),
        ("010-65521234转12-3", "phone.extension"),
        ("010--65521234", "phone.format"),
        ("010-65521234-", "phone.format"),
        ("010-6552-1234-56", "phone.format"),
        ("010-65521234-12转34", "phone.format"),
        ("+86", "phone.format"),
        ("+86+86 13812345678", "phone.format"),
    ];
    for (input, code) in cases {
        let err = PhoneNumber::parse(input).expect_err(input);
        assert_eq!(err.code(), code, "{input:?}: {err}");
    }
}

#[test]
fn phone_debug_output_is_masked_so_logs_never_hold_the_number() {
    let phone = PhoneNumber::parse("13812345678").unwrap();
    let debug = format!("{phone:?}");
    assert!(!debug.contains("13812345678"), "{debug}");
    assert!(debug.contains("138****5678"), "{debug}");
}

#[test]
fn phone_serialises_as_canonical_string_and_deserialises_through_parse() {
    let phone = PhoneNumber::parse("+86 138-1234-5678").unwrap();
    assert_eq!(serde_json::to_string(&phone).unwrap(), "\"13812345678\"");
    let back: PhoneNumber = serde_json::from_str("\"138 1234 5678\"").unwrap();
    assert_eq!(back, phone);
    assert!(serde_json::from_str::<PhoneNumber>("\"12345\"").is_err());
}

// ---------------------------------------------------------------------------
// Resident ID numbers
// ---------------------------------------------------------------------------

/// Check character per GB 11643-1999, computed independently of the library
/// with a lookup table from the standard (remainder → check character).
fn resident_id_check(first17: &str) -> char {
    const TABLE: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];
    let sum: usize = first17
        .chars()
        .enumerate()
        .map(|(i, c)| {
            let weight = (1usize << (17 - i)) % 11;
            c.to_digit(10).unwrap() as usize * weight
        })
        .sum();
    TABLE[sum % 11]
}

#[test]
fn the_standard_example_resident_id_parses_with_its_birth_date_and_sex() {
    // The worked example of GB 11643-1999 §4.5 (a woman born 1949-12-31).
    let id = ResidentId::parse("11010519491231002X").unwrap();
    assert_eq!(id.as_str(), "11010519491231002X");
    assert_eq!(id.birth_date(), date(1949, 12, 31));
    assert_eq!(id.sex(), Sex::Female);
    assert_eq!(id.area_code(), "110105");
    assert_eq!(id.masked(), "110105********002X");
}

#[test]
fn a_lowercase_x_check_character_is_canonicalised_to_upper_case() {
    let id = ResidentId::parse(" 11010519491231002x ").unwrap();
    assert_eq!(id.as_str(), "11010519491231002X");
    assert_eq!(id.to_string(), "11010519491231002X");
}

#[test]
fn valid_resident_ids_report_birth_date_and_sex() {
    let cases = [
        ("11010519491231002X", date(1949, 12, 31), Sex::Female),
        ("440305200002291234", date(2000, 2, 29), Sex::Male),
        ("310101190001010015", date(1900, 1, 1), Sex::Male),
        ("810000210012310024", date(2100, 12, 31), Sex::Female),
    ];
    for (raw, birth, sex) in cases {
        // Fix up the check character so the table stays readable.
        let first17 = &raw[..17];
        let input = format!("{first17}{}", resident_id_check(first17));
        let id = ResidentId::parse(&input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(id.birth_date(), birth, "{input}");
        assert_eq!(id.sex(), sex, "{input}");
    }
}

#[test]
fn invalid_resident_ids_say_which_rule_failed() {
    let cases = [
        ("", ValueError::ResidentIdEmpty),
        ("110105194912310", ValueError::ResidentIdLength { len: 15 }),
        (
            "11010519491231002X1",
            ValueError::ResidentIdLength { len: 19 },
        ),
        (
            "11010519491231002",
            ValueError::ResidentIdLength { len: 17 },
        ),
        (
            "11010519491231002中",
            ValueError::ResidentIdNonDigit { position: 18 },
        ),
        (
            "1101051949123100中X",
            ValueError::ResidentIdNonDigit { position: 17 },
        ),
        (
            "A1010519491231002X",
            ValueError::ResidentIdNonDigit { position: 1 },
        ),
        (
            "11010519491231002Y",
            ValueError::ResidentIdNonDigit { position: 18 },
        ),
        (
            "110105 19491231002",
            ValueError::ResidentIdNonDigit { position: 7 },
        ),
        ("01010519491231002X", ValueError::ResidentIdAreaCode),
        ("91010519491231002X", ValueError::ResidentIdAreaCode),
        // GB 11643's own 1880 example is outside the accepted 1900–2100 window.
        ("440524188001010014", ValueError::ResidentIdBirthDate),
        ("11010519490230002X", ValueError::ResidentIdBirthDate),
        ("11010519491301002X", ValueError::ResidentIdBirthDate),
        ("11010519491200002X", ValueError::ResidentIdBirthDate),
        ("110105190002290011", ValueError::ResidentIdBirthDate),
        ("110105210101010011", ValueError::ResidentIdBirthDate),
        (
            "110105194912310021",
            ValueError::ResidentIdChecksum {
                expected: 'X',
                got: '1',
            },
        ),
        (
            "110105194912310029",
            ValueError::ResidentIdChecksum {
                expected: 'X',
                got: '9',
            },
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(ResidentId::parse(input), Err(expected), "{input:?}");
    }
}

#[test]
fn resident_id_errors_render_in_english_and_chinese() {
    let err = ResidentId::parse("110105194912310021").unwrap_err();
    assert_eq!(err.code(), "resident_id.checksum");
    assert_eq!(
        err.to_string(),
        "the resident ID check character does not match: expected X, got 1"
    );
    assert_eq!(err.message_zh(), "身份证号码校验码不符：应为X，实际为1");

    let err = ResidentId::parse("1101051949123100AX").unwrap_err();
    assert_eq!(
        err.to_string(),
        "character 17 of the resident ID number must be a digit"
    );
    assert_eq!(err.message_zh(), "身份证号码第17位应为数字");
}

#[test]
fn resident_id_debug_and_errors_never_contain_the_number() {
    let id = ResidentId::parse("11010519491231002X").unwrap();
    assert_eq!(format!("{id:?}"), "ResidentId(\"110105********002X\")");
    let err = ResidentId::parse("110105194912310021").unwrap_err();
    for text in [err.to_string(), err.message_zh(), format!("{err:?}")] {
        assert!(!text.contains("1949"), "{text}");
    }
}

// ---------------------------------------------------------------------------
// Unified social credit codes
// ---------------------------------------------------------------------------

const SCC_CHARSET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";

/// GB 32100-2015 check character, computed independently (weights as powers of 3).
fn scc_check(first17: &str) -> char {
    let sum: u64 = first17
        .chars()
        .enumerate()
        .map(|(i, c)| {
            let value = SCC_CHARSET.find(c).unwrap() as u64;
            value * (3u64.pow(i as u32) % 31)
        })
        .sum();
    let check = (31 - sum % 31) % 31;
    SCC_CHARSET.chars().nth(check as usize).unwrap()
}

#[test]
fn real_social_credit_codes_pass_the_gb_32100_check() {
    // The GB 32100-2015 worked example, then codes of well-known companies
    // as shown on their public business licences. The check characters
    // include both digits and letters.
    let cases = [
        "91350100M000100Y43", // GB 32100-2015 example
        "9144030071526726XG", // Tencent (Shenzhen)
        "91330100716105852F", // Alibaba (China)
        "914403001922038216", // Huawei Technologies
        "91110108551385082Q", // Xiaomi Technology
    ];
    for code in cases {
        let parsed = SocialCreditCode::parse(code).unwrap_or_else(|e| panic!("{code}: {e}"));
        assert_eq!(parsed.as_str(), code);
        assert_eq!(scc_check(&code[..17]), code.chars().last().unwrap());
    }
}

#[test]
fn social_credit_code_accessors_split_the_gb_32100_fields() {
    let code = SocialCreditCode::parse("9144030071526726XG").unwrap();
    assert_eq!(code.registration_authority(), '9');
    assert_eq!(code.organisation_type(), '1');
    assert_eq!(code.admin_division(), "440300");
    assert_eq!(code.organisation_code(), "71526726X");
}

#[test]
fn lowercase_social_credit_codes_are_canonicalised_to_upper_case() {
    let code = SocialCreditCode::parse(" 9144030071526726xg ").unwrap();
    assert_eq!(code.as_str(), "9144030071526726XG");
    assert_eq!(
        serde_json::to_string(&code).unwrap(),
        "\"9144030071526726XG\""
    );
}

#[test]
fn invalid_social_credit_codes_say_which_rule_failed() {
    let cases = [
        ("", ValueError::SocialCreditCodeEmpty),
        (
            "9144030071526726X",
            ValueError::SocialCreditCodeLength { len: 17 },
        ),
        (
            "9144030071526726XGG",
            ValueError::SocialCreditCodeLength { len: 19 },
        ),
        // I, O, Z, S, V are excluded from the character set.
        (
            "9144030071526726IG",
            ValueError::SocialCreditCodeInvalidChar { position: 17 },
        ),
        (
            "O144030071526726XG",
            ValueError::SocialCreditCodeInvalidChar { position: 1 },
        ),
        (
            "9144030071526726XS",
            ValueError::SocialCreditCodeInvalidChar { position: 18 },
        ),
        (
            "91440300715267Z6XG",
            ValueError::SocialCreditCodeInvalidChar { position: 15 },
        ),
        (
            "9144030071526726X-",
            ValueError::SocialCreditCodeInvalidChar { position: 18 },
        ),
        (
            "914403中071526726XG",
            ValueError::SocialCreditCodeInvalidChar { position: 7 },
        ),
        (
            "9144A30071526726XG",
            ValueError::SocialCreditCodeDivision { position: 5 },
        ),
        (
            "9144030071526726XH",
            ValueError::SocialCreditCodeChecksum {
                expected: 'G',
                got: 'H',
            },
        ),
        (
            "91330100716105852E",
            ValueError::SocialCreditCodeChecksum {
                expected: 'F',
                got: 'E',
            },
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(SocialCreditCode::parse(input), Err(expected), "{input:?}");
    }
}

// ---------------------------------------------------------------------------
// Email
// ---------------------------------------------------------------------------

#[test]
fn valid_emails_keep_the_local_part_and_lowercase_the_domain() {
    let cases = [
        ("zhang.san@example.com", "zhang.san@example.com"),
        ("Zhang.San@Example.COM", "Zhang.San@example.com"),
        (
            "user+tag@mail.example.com.cn",
            "user+tag@mail.example.com.cn",
        ),
        (
            "a_b-c@sub-domain.example.org",
            "a_b-c@sub-domain.example.org",
        ),
        ("12345678@qq.com", "12345678@qq.com"),
        ("  li.si@163.com\n", "li.si@163.com"),
        ("li.si＠163．com", "li.si@163.com"),
        ("用户@例子.中国", "用户@例子.中国"),
        ("info@例子。公司", "info@例子.公司"),
        ("x@xn--fiqs8s.com", "x@xn--fiqs8s.com"),
    ];
    for (input, canonical) in cases {
        let email = Email::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(email.as_str(), canonical, "{input:?}");
        assert_eq!(Email::parse(canonical).unwrap(), email);
    }
}

#[test]
fn email_accessors_and_mask() {
    let email = Email::parse("Zhang.San@Example.com").unwrap();
    assert_eq!(email.local_part(), "Zhang.San");
    assert_eq!(email.domain(), "example.com");
    assert_eq!(email.masked(), "Z***@example.com");
    assert_eq!(format!("{email:?}"), "Email(\"Z***@example.com\")");
}

#[test]
fn invalid_emails_are_rejected_with_the_rule_that_failed() {
    let long_local = format!("{}@example.com", "a".repeat(65));
    let too_long = format!("a@{}.com", "b.".repeat(130));
    let cases: Vec<(&str, &str)> = vec![
        ("", "email.empty"),
        ("zhang san@example.com", "email.whitespace"),
        ("zhang@exa mple.com", "email.whitespace"),
        ("zhang@example.com\u{0}", "email.whitespace"),
        (&too_long, "email.too_long"),
        ("zhang.example.com", "email.at_sign"),
        ("zhang@@example.com", "email.at_sign"),
        ("a@b@example.com", "email.at_sign"),
        ("@example.com", "email.local_part"),
        (&long_local, "email.local_part"),
        (".zhang@example.com", "email.local_part"),
        ("zhang.@example.com", "email.local_part"),
        ("zhang..san@example.com", "email.local_part"),
        ("\"zhang\"@example.com", "email.local_part"),
        ("zhang<x>@example.com", "email.local_part"),
        ("zhang@", "email.domain"),
        ("zhang@localhost", "email.domain"),
        ("zhang@example..com", "email.domain"),
        ("zhang@.example.com", "email.domain"),
        ("zhang@example.com.", "email.domain"),
        ("zhang@-example.com", "email.domain"),
        ("zhang@example-.com", "email.domain"),
        ("zhang@exa_mple.com", "email.domain"),
        ("zhang@[127.0.0.1]", "email.domain"),
        ("zhang@127.0.0.1", "email.domain"),
    ];
    for (input, code) in cases {
        let err = Email::parse(input).expect_err(input);
        assert_eq!(err.code(), code, "{input:?}: {err}");
    }
}

// ---------------------------------------------------------------------------
// Money
// ---------------------------------------------------------------------------

#[test]
fn amounts_in_everyday_notations_parse_to_fen() {
    let cases = [
        ("12", 1200),
        ("12.5", 1250),
        ("12.50", 1250),
        ("0.01", 1),
        ("0", 0),
        ("-0", 0),
        ("-3.01", -301),
        ("1,234.56", 123_456),
        ("12,345,678", 1_234_567_800),
        ("¥12.00", 1200),
        ("￥12.00", 1200),
        ("¥ 12", 1200),
        ("12元", 1200),
        ("12.50 元", 1250),
        ("¥1,234.56元", 123_456),
        ("-¥3", -300),
        ("¥-3", -300),
        ("１２.５０", 1250),
        ("007", 700),
        ("92233720368547758.07", i64::MAX),
        ("-92233720368547758.08", i64::MIN),
    ];
    for (input, fen) in cases {
        let money = Money::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(money.fen(), fen, "{input:?}");
    }
}

#[test]
fn invalid_amounts_are_rejected_with_the_rule_that_failed() {
    let cases = [
        ("", "money.empty"),
        ("  ", "money.empty"),
        ("12.345", "money.precision"),
        ("0.001", "money.precision"),
        ("92233720368547758.08", "money.overflow"),
        ("-92233720368547758.09", "money.overflow"),
        (
            "99999999999999999999999999999999999999999999",
            "money.overflow",
        ),
        ("¥", "money.format"),
        ("元", "money.format"),
        ("12.", "money.format"),
        (".5", "money.format"),
        ("+12", "money.format"),
        ("12,5", "money.format"),
        ("1,23,456", "money.format"),
        ("1234,567", "money.format"),
        (",123", "money.format"),
        ("1.2.3", "money.format"),
        ("--3", "money.format"),
        ("-¥-3", "money.format"),
        ("12 34", "money.format"),
        ("1e3", "money.format"),
        ("十二元", "money.format"),
        ("12.a", "money.format"),
    ];
    for (input, code) in cases {
        let err = Money::parse(input).expect_err(input);
        assert_eq!(err.code(), code, "{input:?}: {err}");
    }
}

#[test]
fn money_displays_with_exactly_two_decimals() {
    let cases = [
        (0, "0.00"),
        (1, "0.01"),
        (-1, "-0.01"),
        (1250, "12.50"),
        (-301, "-3.01"),
        (123_456, "1234.56"),
        (i64::MAX, "92233720368547758.07"),
        (i64::MIN, "-92233720368547758.08"),
    ];
    for (fen, shown) in cases {
        assert_eq!(Money::from_fen(fen).to_string(), shown);
    }
}

#[test]
fn money_serialises_as_integer_fen() {
    let money = Money::parse("12.50").unwrap();
    assert_eq!(serde_json::to_string(&money).unwrap(), "1250");
    assert_eq!(
        serde_json::from_str::<Money>("-301").unwrap(),
        Money::from_fen(-301)
    );
}

// ---------------------------------------------------------------------------
// Dates and date-times
// ---------------------------------------------------------------------------

#[test]
fn dates_in_iso_slash_dot_and_chinese_notation_parse() {
    let cases = [
        "2026-09-30",
        "2026/09/30",
        "2026/9/30",
        "2026.09.30",
        "2026年9月30日",
        "2026年09月30日",
        " ２０２６－０９－３０ ",
    ];
    for input in cases {
        assert_eq!(parse_date(input), Ok(date(2026, 9, 30)), "{input:?}");
    }
    assert_eq!(parse_date("2028-02-29"), Ok(date(2028, 2, 29)));
}

#[test]
fn invalid_dates_are_rejected_with_the_rule_that_failed() {
    let cases = [
        ("", ValueError::DateEmpty),
        ("20260930", ValueError::DateFormat),
        ("26-09-30", ValueError::DateFormat),
        ("2026-09/30", ValueError::DateFormat),
        ("2026-009-30", ValueError::DateFormat),
        ("2026-09-30-01", ValueError::DateFormat),
        ("2026年9月30", ValueError::DateFormat),
        ("2026年9月", ValueError::DateFormat),
        ("2026-09-30T00:00", ValueError::DateFormat),
        ("二〇二六年九月三十日", ValueError::DateFormat),
        ("2026-02-30", ValueError::DateInvalid),
        ("2026-02-29", ValueError::DateInvalid),
        ("2026-13-01", ValueError::DateInvalid),
        ("2026-00-10", ValueError::DateInvalid),
        ("2026年4月31日", ValueError::DateInvalid),
    ];
    for (input, expected) in cases {
        assert_eq!(parse_date(input), Err(expected), "{input:?}");
    }
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

#[test]
fn rfc3339_datetimes_keep_their_offset() {
    let cases = [
        ("2026-09-30T14:05:00+08:00", "2026-09-30T06:05:00Z"),
        ("2026-09-30T06:05:00Z", "2026-09-30T06:05:00Z"),
        ("2026-09-30t06:05:00z", "2026-09-30T06:05:00Z"),
        ("2026-09-30 14:05:00+08:00", "2026-09-30T06:05:00Z"),
        ("2026-09-30T01:05:00-05:00", "2026-09-30T06:05:00Z"),
        ("2026-09-30T14:05:00+0800", "2026-09-30T06:05:00Z"),
        ("2026-09-30T14:05:00.250+08:00", "2026-09-30T06:05:00.25Z"),
        (
            "2026-09-30T14:05:00.123456789+08:00",
            "2026-09-30T06:05:00.123456789Z",
        ),
        ("2026-09-30T14:05+08:00", "2026-09-30T06:05:00Z"),
    ];
    for (input, utc) in cases {
        assert_eq!(parse_datetime(input), Ok(ts(utc)), "{input:?}");
    }
}

#[test]
fn naive_datetimes_are_read_as_china_standard_time() {
    let cases = [
        ("2026-09-30T14:05", "2026-09-30T06:05:00Z"),
        ("2026-09-30 14:05", "2026-09-30T06:05:00Z"),
        ("2026-09-30 14:05:30", "2026-09-30T06:05:30Z"),
        ("2026-09-30 9:05", "2026-09-30T01:05:00Z"),
        ("2026-10-01 00:30", "2026-09-30T16:30:00Z"),
        ("2026/09/30 14:05", "2026-09-30T06:05:00Z"),
        ("2026年9月30日 14:05", "2026-09-30T06:05:00Z"),
        // Summer dates too: no DST in China since 1991.
        ("2026-07-01 08:00", "2026-07-01T00:00:00Z"),
    ];
    for (input, utc) in cases {
        assert_eq!(parse_datetime(input), Ok(ts(utc)), "{input:?}");
    }
}

#[test]
fn invalid_datetimes_are_rejected_with_the_rule_that_failed() {
    let cases = [
        ("", ValueError::DateTimeEmpty),
        ("2026-09-30", ValueError::DateTimeFormat),
        ("2026-09-30T", ValueError::DateTimeFormat),
        ("2026-09-30T14", ValueError::DateTimeFormat),
        ("2026-09-30T14:5", ValueError::DateTimeFormat),
        ("2026-09-30T14:05:00+8", ValueError::DateTimeFormat),
        (
            "2026-09-30T14:05:00+08:00[Asia/Shanghai]",
            ValueError::DateTimeFormat,
        ),
        ("2026-09-30T14:05:00 CST", ValueError::DateTimeFormat),
        ("2026-09-30T14:05:00+24:00", ValueError::DateTimeFormat),
        ("2026-09-30T14:05:00.+08:00", ValueError::DateTimeFormat),
        (
            "2026-09-30T14:05:00.1234567890Z",
            ValueError::DateTimeFormat,
        ),
        ("2026-09-30T14:05:00Z+08:00", ValueError::DateTimeFormat),
        ("14:05 2026-09-30", ValueError::DateTimeFormat),
        ("2026-02-30T14:05:00+08:00", ValueError::DateTimeInvalid),
        ("2026-09-30T24:00", ValueError::DateTimeInvalid),
        ("2026-09-30T14:60", ValueError::DateTimeInvalid),
        ("2026-12-31T23:59:60Z", ValueError::DateTimeInvalid),
    ];
    for (input, expected) in cases {
        assert_eq!(parse_datetime(input), Err(expected), "{input:?}");
    }
}

// ---------------------------------------------------------------------------
// Error catalogue
// ---------------------------------------------------------------------------

#[test]
fn every_error_has_a_dotted_code_and_an_english_and_chinese_message() {
    let errors = [
        PhoneNumber::parse("x").unwrap_err(),
        PhoneNumber::parse("+1 2").unwrap_err(),
        PhoneNumber::parse("12").unwrap_err(),
        PhoneNumber::parse("011").unwrap_err(),
        PhoneNumber::parse("010").unwrap_err(),
        PhoneNumber::parse("010-22345678转").unwrap_err(),
        PhoneNumber::parse("010--2").unwrap_err(),
        PhoneNumber::parse("").unwrap_err(),
        ResidentId::parse("").unwrap_err(),
        ResidentId::parse("1").unwrap_err(),
        ResidentId::parse("a1010519491231002X").unwrap_err(),
        ResidentId::parse("01010519491231002X").unwrap_err(),
        ResidentId::parse("11010518991231002X").unwrap_err(),
        ResidentId::parse("110105194912310021").unwrap_err(),
        SocialCreditCode::parse("").unwrap_err(),
        SocialCreditCode::parse("1").unwrap_err(),
        SocialCreditCode::parse("9144030071526726IG").unwrap_err(),
        SocialCreditCode::parse("9144A30071526726XG").unwrap_err(),
        SocialCreditCode::parse("9144030071526726XH").unwrap_err(),
        Email::parse("").unwrap_err(),
        Email::parse("a b@c.d").unwrap_err(),
        Email::parse(&"a".repeat(300)).unwrap_err(),
        Email::parse("a").unwrap_err(),
        Email::parse("@a.b").unwrap_err(),
        Email::parse("a@b").unwrap_err(),
        Money::parse("").unwrap_err(),
        Money::parse("x").unwrap_err(),
        Money::parse("1.234").unwrap_err(),
        Money::parse("1".repeat(40).as_str()).unwrap_err(),
        parse_date("").unwrap_err(),
        parse_date("x").unwrap_err(),
        parse_date("2026-02-30").unwrap_err(),
        parse_datetime("").unwrap_err(),
        parse_datetime("x").unwrap_err(),
        parse_datetime("2026-02-30 10:00").unwrap_err(),
    ];
    let mut codes: Vec<&str> = errors.iter().map(ValueError::code).collect();
    for err in &errors {
        let code = err.code();
        let (kind, rule) = code.split_once('.').unwrap();
        assert!(!kind.is_empty() && !rule.is_empty(), "{code}");
        assert!(
            code.chars()
                .all(|c| c.is_ascii_lowercase() || c == '_' || c == '.'),
            "{code}"
        );
        assert!(!err.to_string().is_empty(), "{code}");
        assert!(
            err.message_zh()
                .chars()
                .any(|c| ('\u{4E00}'..='\u{9FFF}').contains(&c)),
            "{code}"
        );
        assert_eq!(err.message_en(), err.to_string());
    }
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(
        codes.len(),
        errors.len(),
        "each example should hit a distinct rule"
    );
}

// ---------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------

/// Strings biased towards the characters the parsers care about, so the
/// no-panic property exercises deep paths and not only "invalid char" exits.
fn tricky_string() -> impl Strategy<Value = String> {
    proptest::string::string_regex(
        "[0-9xX+\\-.,:/ @TZtz年月日转元¥￥a-zA-Z中０-９－＠\u{3000}\u{3002}\u{0301}]{0,40}",
    )
    .unwrap()
}

fn all_parsers_on(s: &str) {
    let _ = PhoneNumber::parse(s).map(|p| (p.masked(), p.last4().len(), p.to_string()));
    let _ = ResidentId::parse(s).map(|id| (id.masked(), id.birth_date(), id.sex()));
    let _ = SocialCreditCode::parse(s).map(|c| c.to_string());
    let _ = Email::parse(s).map(|e| (e.masked(), e.local_part().len(), e.domain().len()));
    let _ = Money::parse(s).map(|m| m.to_string());
    let _ = parse_date(s);
    let _ = parse_datetime(s);
}

/// 17 body digits of a resident ID with a real birth date in 1900..=2100.
fn resident_id_body() -> impl Strategy<Value = String> {
    (
        1u32..=8,
        0u32..100_000,
        1900i16..=2100,
        1i8..=12,
        1i8..=31,
        0u32..1000,
    )
        .prop_filter_map("real date", |(first, rest, y, m, d, seq)| {
            jiff::civil::Date::new(y, m, d).ok()?;
            Some(format!("{first}{rest:05}{y:04}{m:02}{d:02}{seq:03}"))
        })
}

fn social_credit_code_body() -> impl Strategy<Value = String> {
    let any_char = proptest::sample::select(SCC_CHARSET.chars().collect::<Vec<_>>());
    (
        any_char.clone(),
        any_char.clone(),
        0u32..1_000_000,
        proptest::collection::vec(any_char, 9),
    )
        .prop_map(|(a, b, division, org)| {
            format!("{a}{b}{division:06}{}", org.into_iter().collect::<String>())
        })
}

proptest! {
    // Parsing is cheap, so the no-panic properties get more cases than the default 256.
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn no_parser_panics_on_any_string(s in any::<String>()) {
        all_parsers_on(&s);
    }

    #[test]
    fn no_parser_panics_on_strings_made_of_meaningful_characters(s in tricky_string()) {
        all_parsers_on(&s);
    }
}

proptest! {

    #[test]
    fn generated_valid_resident_ids_parse_and_round_trip(body in resident_id_body(), lower in any::<bool>()) {
        let check = resident_id_check(&body);
        let mut input = format!("{body}{check}");
        if lower {
            input = input.to_lowercase();
        }
        let id = ResidentId::parse(&input).unwrap();
        let canonical = format!("{body}{check}");
        prop_assert_eq!(id.as_str(), canonical.as_str());
        prop_assert_eq!(ResidentId::parse(id.as_str()).unwrap(), id.clone());
        let json = serde_json::to_string(&id).unwrap();
        prop_assert_eq!(serde_json::from_str::<ResidentId>(&json).unwrap(), id.clone());
        let date_digits = body.get(6..14).unwrap();
        let birth = id.birth_date();
        let shown = format!("{:04}{:02}{:02}", birth.year(), birth.month(), birth.day());
        prop_assert_eq!(shown.as_str(), date_digits);
        let male = body.as_bytes()[16] % 2 == 1;
        prop_assert_eq!(id.sex() == Sex::Male, male);
    }

    #[test]
    fn changing_the_resident_id_check_character_fails_the_checksum(
        body in resident_id_body(),
        replacement in proptest::sample::select("0123456789X".chars().collect::<Vec<_>>()),
    ) {
        let check = resident_id_check(&body);
        prop_assume!(replacement != check);
        let err = ResidentId::parse(&format!("{body}{replacement}")).unwrap_err();
        prop_assert_eq!(err, ValueError::ResidentIdChecksum { expected: check, got: replacement });
    }

    #[test]
    fn generated_valid_social_credit_codes_round_trip(body in social_credit_code_body(), lower in any::<bool>()) {
        let canonical = format!("{body}{}", scc_check(&body));
        let input = if lower { canonical.to_lowercase() } else { canonical.clone() };
        let code = SocialCreditCode::parse(&input).unwrap();
        prop_assert_eq!(code.as_str(), canonical.as_str());
        let json = serde_json::to_string(&code).unwrap();
        prop_assert_eq!(serde_json::from_str::<SocialCreditCode>(&json).unwrap(), code);
    }

    #[test]
    fn changing_the_social_credit_code_check_character_fails_the_checksum(
        body in social_credit_code_body(),
        replacement in proptest::sample::select(SCC_CHARSET.chars().collect::<Vec<_>>()),
    ) {
        let check = scc_check(&body);
        prop_assume!(replacement != check);
        let err = SocialCreditCode::parse(&format!("{body}{replacement}")).unwrap_err();
        prop_assert_eq!(err, ValueError::SocialCreditCodeChecksum { expected: check, got: replacement });
    }

    #[test]
    fn money_display_parses_back_to_the_same_fen(fen in -1_000_000_000_000_000i64..=1_000_000_000_000_000) {
        let money = Money::from_fen(fen);
        prop_assert_eq!(Money::parse(&money.to_string()), Ok(money));
    }

    #[test]
    fn money_display_parses_back_for_every_i64(fen in any::<i64>()) {
        let money = Money::from_fen(fen);
        prop_assert_eq!(Money::parse(&money.to_string()), Ok(money));
    }

    #[test]
    fn generated_mobile_numbers_canonicalise_and_mask(second in 3u8..=9, rest in 0u64..1_000_000_000) {
        let canonical = format!("1{second}{rest:09}");
        let spaced = format!("+86 {} {} {}", &canonical[..3], &canonical[3..7], &canonical[7..]);
        let phone = PhoneNumber::parse(&spaced).unwrap();
        prop_assert_eq!(phone.as_str(), canonical.as_str());
        prop_assert_eq!(phone.last4(), &canonical[7..]);
        let masked = format!("{}****{}", &canonical[..3], &canonical[7..]);
        prop_assert_eq!(phone.masked(), masked);
    }
}
