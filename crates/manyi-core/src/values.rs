//! Typed field values for case forms.
//!
//! Complaint forms collect a handful of values whose shape is fixed by Chinese
//! national standards or by plain convention: phone numbers, resident identity
//! numbers (GB 11643-1999), unified social credit codes (GB 32100-2015), email
//! addresses, amounts of money in CNY, dates and date-times.
//!
//! Every type here follows "parse, don't validate": the only way to obtain a
//! value is its `parse` function (or `FromStr`/`Deserialize`, which call it),
//! so a value that exists is valid and already in canonical form. Downstream
//! code never re-checks.
//!
//! Conventions shared by all parsers:
//!
//! * Input is first *normalised*: full-width ASCII variants (U+FF01–U+FF5E,
//!   e.g. `１３８`, `－`, `＠`), which Chinese IMEs produce routinely, are folded
//!   to ASCII, every Unicode whitespace character (including the ideographic
//!   space U+3000) becomes a plain space, and the result is trimmed.
//! * Parsers never panic, whatever the input: no unchecked indexing, no
//!   unchecked arithmetic, slicing only at known ASCII boundaries.
//! * Errors are [`ValueError`]s. They carry a stable machine code
//!   ([`ValueError::code`]), an English message (`Display`) and a Chinese one
//!   ([`ValueError::message_zh`]). They **never contain the input value**:
//!   errors get logged, and phone numbers, ID numbers and email addresses are
//!   personal information under the PIPL.
//!
//! Personal data ([`PhoneNumber`], [`ResidentId`], [`Email`]) has a `Debug`
//! implementation that prints only the masked form, so a stray `{:?}` in a
//! log line does not leak it. `Display`, `as_str()` and `Serialize` give the
//! full canonical value; use them only where the viewer's role allows it, and
//! `masked()` everywhere else.
//!
//! Serde: the string-like types serialise as their canonical string and
//! deserialise through `parse`. [`Money`] serialises as an integer number of
//! fen (分, 1/100 yuan), e.g. `1250` for ¥12.50.

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::Offset;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/// Why a field value was rejected.
///
/// Variants never include the rejected input (it may be personal data); they
/// carry only what is needed to explain the rule that failed: a position, a
/// length, an expected/actual check character.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValueError {
    /// The phone number is empty.
    #[error("phone number is empty")]
    PhoneEmpty,
    /// The phone number contains a character other than digits, spaces,
    /// hyphens, a leading `+` or `转`.
    #[error("phone number contains an invalid character '{ch}'")]
    PhoneInvalidChar {
        /// The offending character.
        ch: char,
    },
    /// An international prefix other than +86 / 0086.
    #[error("only mainland China phone numbers (+86) are accepted")]
    PhoneCountryCode,
    /// Looks like a mobile number but is not 11 digits starting with 13–19.
    #[error("a mobile number must be 11 digits starting with 13 to 19")]
    PhoneMobile,
    /// The landline area code is not 010, 02X or 0XXX (X ≥ 3 for the first X).
    #[error("the landline area code is invalid (expected 010, 02X or 0XXX)")]
    PhoneAreaCode,
    /// The landline subscriber number is not 7–8 digits starting with 2–9.
    #[error("a landline number must be 7 or 8 digits and must not start with 0 or 1")]
    PhoneSubscriber,
    /// The extension is not 1–6 digits.
    #[error("an extension must be 1 to 6 digits")]
    PhoneExtension,
    /// The number's structure is not recognised (stray separators, too many
    /// groups, two extensions, ...).
    #[error("the phone number format is not recognised")]
    PhoneFormat,

    /// The resident ID is empty.
    #[error("resident ID number is empty")]
    ResidentIdEmpty,
    /// The resident ID is not 18 characters long.
    #[error("a resident ID number must be 18 characters, got {len}")]
    ResidentIdLength {
        /// Number of characters (not bytes) received.
        len: usize,
    },
    /// A character that should be a digit is not (position 18 may also be X).
    #[error("{}", resident_id_non_digit_en(*position))]
    ResidentIdNonDigit {
        /// 1-based character position.
        position: usize,
    },
    /// The first digit of the area code is not 1–8.
    #[error("the resident ID area code must start with a digit from 1 to 8")]
    ResidentIdAreaCode,
    /// Characters 7–14 are not a real date between 1900-01-01 and 2100-12-31.
    #[error(
        "the birth date in the resident ID is not a real date between 1900-01-01 and 2100-12-31"
    )]
    ResidentIdBirthDate,
    /// The ISO 7064 MOD 11-2 check character does not match.
    #[error("the resident ID check character does not match: expected {expected}, got {got}")]
    ResidentIdChecksum {
        /// Check character computed from the first 17 digits.
        expected: char,
        /// Check character received (upper-cased).
        got: char,
    },

    /// The unified social credit code is empty.
    #[error("unified social credit code is empty")]
    SocialCreditCodeEmpty,
    /// The code is not 18 characters long.
    #[error("a unified social credit code must be 18 characters, got {len}")]
    SocialCreditCodeLength {
        /// Number of characters (not bytes) received.
        len: usize,
    },
    /// A character outside `0-9A-Z` minus I, O, Z, S, V.
    #[error(
        "character {position} of the unified social credit code is not allowed \
         (only digits and upper-case letters other than I, O, Z, S, V)"
    )]
    SocialCreditCodeInvalidChar {
        /// 1-based character position.
        position: usize,
    },
    /// Characters 3–8 (administrative division code) must be digits.
    #[error(
        "characters 3 to 8 of the unified social credit code (administrative division) \
         must be digits; character {position} is not"
    )]
    SocialCreditCodeDivision {
        /// 1-based character position.
        position: usize,
    },
    /// The MOD 31 check character does not match.
    #[error(
        "the unified social credit code check character does not match: \
         expected {expected}, got {got}"
    )]
    SocialCreditCodeChecksum {
        /// Check character computed from the first 17 characters.
        expected: char,
        /// Check character received (upper-cased).
        got: char,
    },

    /// The email address is empty.
    #[error("email address is empty")]
    EmailEmpty,
    /// The address contains whitespace or control characters.
    #[error("an email address must not contain spaces or control characters")]
    EmailWhitespace,
    /// The address is longer than 254 bytes (RFC 5321 path limit).
    #[error("the email address is too long (at most 254 bytes)")]
    EmailTooLong,
    /// Not exactly one `@`.
    #[error("an email address must contain exactly one '@'")]
    EmailAtSign,
    /// The part before `@` is empty, longer than 64 bytes or malformed.
    #[error(
        "the part before '@' is empty, longer than 64 bytes, or contains invalid characters or dots"
    )]
    EmailLocalPart,
    /// The domain after `@` is malformed.
    #[error("the domain after '@' is invalid")]
    EmailDomain,

    /// The amount is empty.
    #[error("amount is empty")]
    MoneyEmpty,
    /// The amount is not a number like `1,234.56`.
    #[error("the amount is not a number like 1,234.56")]
    MoneyFormat,
    /// More than two decimal places (fen is the smallest unit).
    #[error("the amount has more than 2 decimal places")]
    MoneyPrecision,
    /// The amount does not fit in 64-bit fen.
    #[error("the amount is too large")]
    MoneyOverflow,

    /// The date is empty.
    #[error("date is empty")]
    DateEmpty,
    /// The date is not in a recognised format.
    #[error("a date must look like 2026-09-30, 2026/09/30 or 2026年9月30日")]
    DateFormat,
    /// Well-formed but not a real date (e.g. 2026-02-30).
    #[error("the date does not exist")]
    DateInvalid,

    /// The date-time is empty.
    #[error("date and time is empty")]
    DateTimeEmpty,
    /// The date-time is not in a recognised format.
    #[error(
        "a date and time must look like 2026-09-30T14:05:00+08:00 or 2026-09-30 14:05 (Beijing time)"
    )]
    DateTimeFormat,
    /// Well-formed but not a real date-time (e.g. 25:00, 2026-02-30) or out of range.
    #[error("the date and time does not exist")]
    DateTimeInvalid,
}

fn resident_id_non_digit_en(position: usize) -> String {
    if position == 18 {
        "character 18 of the resident ID number must be a digit or X".to_owned()
    } else {
        format!("character {position} of the resident ID number must be a digit")
    }
}

impl ValueError {
    /// Stable machine-readable code, `<type>.<rule>`, e.g. `phone.mobile` or
    /// `resident_id.checksum`. Clients may switch on it; never change one.
    pub fn code(&self) -> &'static str {
        use ValueError::*;
        match self {
            PhoneEmpty => "phone.empty",
            PhoneInvalidChar { .. } => "phone.invalid_char",
            PhoneCountryCode => "phone.country_code",
            PhoneMobile => "phone.mobile",
            PhoneAreaCode => "phone.area_code",
            PhoneSubscriber => "phone.subscriber",
            PhoneExtension => "phone.extension",
            PhoneFormat => "phone.format",
            ResidentIdEmpty => "resident_id.empty",
            ResidentIdLength { .. } => "resident_id.length",
            ResidentIdNonDigit { .. } => "resident_id.non_digit",
            ResidentIdAreaCode => "resident_id.area_code",
            ResidentIdBirthDate => "resident_id.birth_date",
            ResidentIdChecksum { .. } => "resident_id.checksum",
            SocialCreditCodeEmpty => "social_credit_code.empty",
            SocialCreditCodeLength { .. } => "social_credit_code.length",
            SocialCreditCodeInvalidChar { .. } => "social_credit_code.invalid_char",
            SocialCreditCodeDivision { .. } => "social_credit_code.division",
            SocialCreditCodeChecksum { .. } => "social_credit_code.checksum",
            EmailEmpty => "email.empty",
            EmailWhitespace => "email.whitespace",
            EmailTooLong => "email.too_long",
            EmailAtSign => "email.at_sign",
            EmailLocalPart => "email.local_part",
            EmailDomain => "email.domain",
            MoneyEmpty => "money.empty",
            MoneyFormat => "money.format",
            MoneyPrecision => "money.precision",
            MoneyOverflow => "money.overflow",
            DateEmpty => "date.empty",
            DateFormat => "date.format",
            DateInvalid => "date.invalid",
            DateTimeEmpty => "datetime.empty",
            DateTimeFormat => "datetime.format",
            DateTimeInvalid => "datetime.invalid",
        }
    }

    /// Plain English message; same as `Display`.
    pub fn message_en(&self) -> String {
        self.to_string()
    }

    /// Plain Chinese message for end users.
    pub fn message_zh(&self) -> String {
        use ValueError::*;
        match self {
            PhoneEmpty => "电话号码不能为空".to_owned(),
            PhoneInvalidChar { ch } => format!("电话号码包含无效字符“{ch}”"),
            PhoneCountryCode => "仅支持中国大陆电话号码（+86）".to_owned(),
            PhoneMobile => "手机号码应为以13～19开头的11位数字".to_owned(),
            PhoneAreaCode => "固定电话区号无效（应为010、02X或0XXX）".to_owned(),
            PhoneSubscriber => "固定电话号码应为7～8位数字，且不能以0或1开头".to_owned(),
            PhoneExtension => "分机号应为1～6位数字".to_owned(),
            PhoneFormat => "无法识别的电话号码格式".to_owned(),
            ResidentIdEmpty => "身份证号码不能为空".to_owned(),
            ResidentIdLength { len } => format!("身份证号码应为18位，实际为{len}位"),
            ResidentIdNonDigit { position: 18 } => "身份证号码第18位应为数字或X".to_owned(),
            ResidentIdNonDigit { position } => format!("身份证号码第{position}位应为数字"),
            ResidentIdAreaCode => "身份证号码地址码首位应为1～8".to_owned(),
            ResidentIdBirthDate => {
                "身份证号码中的出生日期无效（应为1900-01-01至2100-12-31之间的真实日期）".to_owned()
            }
            ResidentIdChecksum { expected, got } => {
                format!("身份证号码校验码不符：应为{expected}，实际为{got}")
            }
            SocialCreditCodeEmpty => "统一社会信用代码不能为空".to_owned(),
            SocialCreditCodeLength { len } => {
                format!("统一社会信用代码应为18位，实际为{len}位")
            }
            SocialCreditCodeInvalidChar { position } => format!(
                "统一社会信用代码第{position}位字符无效（只能是数字或除I、O、Z、S、V以外的大写字母）"
            ),
            SocialCreditCodeDivision { position } => {
                format!("统一社会信用代码第3～8位（行政区划码）应为数字，第{position}位不是数字")
            }
            SocialCreditCodeChecksum { expected, got } => {
                format!("统一社会信用代码校验码不符：应为{expected}，实际为{got}")
            }
            EmailEmpty => "电子邮箱不能为空".to_owned(),
            EmailWhitespace => "电子邮箱不能包含空格或控制字符".to_owned(),
            EmailTooLong => "电子邮箱过长（最多254字节）".to_owned(),
            EmailAtSign => "电子邮箱必须包含且只包含一个“@”".to_owned(),
            EmailLocalPart => {
                "电子邮箱“@”前的部分为空、超过64字节，或包含无效字符或多余的点".to_owned()
            }
            EmailDomain => "电子邮箱“@”后的域名无效".to_owned(),
            MoneyEmpty => "金额不能为空".to_owned(),
            MoneyFormat => "金额格式无效，应类似 1,234.56".to_owned(),
            MoneyPrecision => "金额最多保留两位小数".to_owned(),
            MoneyOverflow => "金额超出范围".to_owned(),
            DateEmpty => "日期不能为空".to_owned(),
            DateFormat => "日期格式应为 2026-09-30、2026/09/30 或 2026年9月30日".to_owned(),
            DateInvalid => "日期不存在".to_owned(),
            DateTimeEmpty => "日期时间不能为空".to_owned(),
            DateTimeFormat => {
                "日期时间格式应为 2026-09-30T14:05:00+08:00 或 2026-09-30 14:05（北京时间）"
                    .to_owned()
            }
            DateTimeInvalid => "日期时间不存在或超出范围".to_owned(),
        }
    }
}

// ---------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------

/// Fold full-width ASCII variants to ASCII and all whitespace to `' '`.
///
/// Chinese IMEs in full-width mode type `１３８－１２３４` or `＠`; users do not
/// see the difference, so rejecting it would only produce confusing errors.
fn normalize(input: &str) -> String {
    input
        .chars()
        .map(|c| match c {
            // U+FF01..=U+FF5E are the full-width forms of U+0021..=U+007E.
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
            c if c.is_whitespace() => ' ',
            c => c,
        })
        .collect()
}

/// Parse `s` as an unsigned decimal of `min..=max` ASCII digits.
/// Callers keep `max` ≤ 9 so the value always fits in a `u32`.
fn ascii_number(s: &str, min: usize, max: usize) -> Option<u32> {
    if !(min..=max).contains(&s.len()) || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.bytes().try_fold(0u32, |acc, b| {
        acc.checked_mul(10)?.checked_add(u32::from(b - b'0'))
    })
}

/// Implements the string-value boilerplate: `Display`, `AsRef<str>`,
/// `FromStr`, `From<T> for String`, and serde as the canonical string
/// (deserialising through `parse`, so invalid values cannot sneak in).
macro_rules! string_value {
    ($ty:ident) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }

        impl FromStr for $ty {
            type Err = ValueError;

            fn from_str(s: &str) -> Result<Self, ValueError> {
                Self::parse(s)
            }
        }

        impl From<$ty> for String {
            fn from(value: $ty) -> String {
                value.canonical
            }
        }

        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(deserializer)?;
                Self::parse(&raw).map_err(serde::de::Error::custom)
            }
        }
    };
}

// ---------------------------------------------------------------------------
// Phone numbers
// ---------------------------------------------------------------------------

/// Whether a [`PhoneNumber`] is a mobile or a fixed-line number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhoneKind {
    /// 11-digit mobile number, `1[3-9]XXXXXXXXX`.
    Mobile,
    /// Fixed-line number with area code.
    Landline,
}

/// A mainland China phone number.
///
/// Accepted input:
///
/// * Mobile: `1[3-9]` followed by 9 digits, with any spaces/hyphens
///   (`138 1234 5678`, `138-1234-5678`) and an optional `+86` or `0086`
///   prefix. A bare `86` prefix is *not* stripped (it is ambiguous to humans
///   and the brief only allows it with `+`).
/// * Landline: area code (`010`, `020`–`029`, or `0` + 3 digits starting with
///   3–9), optionally followed by `-` or a space, then a 7–8 digit subscriber
///   number starting with 2–9 (numbers starting with 0 would be a trunk prefix,
///   with 1 are special services such as 110/12345), then an optional extension
///   of 1–6 digits introduced by `-` or `转`. With `+86`/`0086` the trunk `0`
///   may be omitted as in international notation (`+86 10 1234 5678`).
///   Spaces inside the subscriber number are ignored; spaces never introduce
///   an extension (so `010 6552 1234` is one number, not an extension).
///
/// Canonical form (`as_str`, `Display`, serde):
///
/// * mobile: 11 digits, `13812345678`;
/// * landline: `0AA-NNNNNNNN` / `0AAA-NNNNNNN(N)`, extension appended as
///   `转NNN`: `010-12345678转123`. `转` is what Chinese users write and read,
///   and unlike a second hyphen it cannot be mistaken for part of the number.
///
/// `Debug` prints only [`masked`](Self::masked).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber {
    canonical: String,
    kind: PhoneKind,
    /// Byte length of the area code in `canonical` (0 for mobiles).
    area_len: usize,
    /// Byte index in `canonical` just past the number, before any `转` extension.
    number_end: usize,
}

impl PhoneNumber {
    /// Parse a mobile or landline number; see the type docs for the accepted forms.
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let normalized = normalize(input);
        let s = normalized.trim();
        if s.is_empty() {
            return Err(ValueError::PhoneEmpty);
        }
        if let Some(ch) = s
            .chars()
            .find(|&c| !(c.is_ascii_digit() || matches!(c, ' ' | '-' | '+' | '转')))
        {
            return Err(ValueError::PhoneInvalidChar { ch });
        }

        let (rest, international) = if let Some(rest) = s.strip_prefix("+86") {
            (rest, true)
        } else if let Some(rest) = s.strip_prefix("0086") {
            (rest, true)
        } else if s.starts_with('+') || s.starts_with("00") {
            // No mainland area code starts with 00: that is an international prefix.
            return Err(ValueError::PhoneCountryCode);
        } else {
            (s, false)
        };
        let rest = rest.trim_start_matches([' ', '-']);
        if rest.is_empty() || rest.contains('+') {
            return Err(ValueError::PhoneFormat);
        }

        if rest.starts_with('1') {
            let digits: String = rest.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
            // After +86 a landline drops its trunk 0, so `+86 10 12345678`
            // starts with 1 too; mobiles are exactly 11 digits, Beijing
            // landlines (2 + 8) are 10, so the length tells them apart.
            if !(international && digits.len() != 11) {
                return parse_mobile(&digits);
            }
        }
        if international && !rest.starts_with('0') {
            parse_landline(&format!("0{rest}"))
        } else {
            parse_landline(rest)
        }
    }

    /// Canonical form, e.g. `13812345678` or `010-12345678转123`.
    pub fn as_str(&self) -> &str {
        &self.canonical
    }

    /// Mobile or landline.
    pub fn kind(&self) -> PhoneKind {
        self.kind
    }

    /// Area code including the leading 0 (`010`, `0571`); `None` for mobiles.
    pub fn area_code(&self) -> Option<&str> {
        match self.kind {
            PhoneKind::Mobile => None,
            PhoneKind::Landline => self.canonical.get(..self.area_len),
        }
    }

    /// Extension digits, if any.
    pub fn extension(&self) -> Option<&str> {
        self.canonical
            .get(self.number_end..)
            .and_then(|rest| rest.strip_prefix('转'))
    }

    /// Last four digits of the number proper (never of the extension), for
    /// "ending in 5678" confirmations.
    pub fn last4(&self) -> &str {
        self.canonical
            .get(self.number_end.saturating_sub(4)..self.number_end)
            .unwrap_or_default()
    }

    /// Masked form for roles that may not see the number: mobiles keep the
    /// first 3 and last 4 digits (`138****5678`, the usual Chinese
    /// convention); landlines keep the area code, the last 4 digits and the
    /// extension (`010-****5678`, `0571-***8888转12`).
    pub fn masked(&self) -> String {
        let last4 = self.last4();
        match self.kind {
            PhoneKind::Mobile => {
                let head = self.canonical.get(..3).unwrap_or_default();
                format!("{head}****{last4}")
            }
            PhoneKind::Landline => {
                let area = self.area_code().unwrap_or_default();
                let number_len = self.number_end.saturating_sub(self.area_len + 1);
                let stars = "*".repeat(number_len.saturating_sub(4));
                let ext = self.canonical.get(self.number_end..).unwrap_or_default();
                format!("{area}-{stars}{last4}{ext}")
            }
        }
    }
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PhoneNumber").field(&self.masked()).finish()
    }
}

string_value!(PhoneNumber);

fn parse_mobile(digits: &str) -> Result<PhoneNumber, ValueError> {
    // Mobile numbers are 1[3-9]XXXXXXXXX (MIIT numbering plan; 10–12 are not
    // allocated to public mobile networks).
    match digits.as_bytes() {
        [b'1', b'3'..=b'9', rest @ ..]
            if rest.len() == 9 && rest.iter().all(u8::is_ascii_digit) =>
        {
            Ok(PhoneNumber {
                canonical: digits.to_owned(),
                kind: PhoneKind::Mobile,
                area_len: 0,
                number_end: digits.len(),
            })
        }
        _ => Err(ValueError::PhoneMobile),
    }
}

/// Length of the area code at the start of `group`, if it starts with one.
///
/// 010 (Beijing) and 02X (Shanghai, Tianjin, Chongqing, large provincial
/// capitals) are 3 digits including the trunk 0; all others are 0 + 3 digits
/// starting 3–9. 01X other than 010 and 00 (international) are not area codes.
fn area_code_len(group: &str) -> Option<usize> {
    match group.as_bytes() {
        [b'0', b'1', b'0', ..] => Some(3),
        [b'0', b'2', d, ..] if d.is_ascii_digit() => Some(3),
        [b'0', b'3'..=b'9', d1, d2, ..] if d1.is_ascii_digit() && d2.is_ascii_digit() => Some(4),
        _ => None,
    }
}

fn parse_landline(s: &str) -> Result<PhoneNumber, ValueError> {
    // Spaces only group digits; an extension must be introduced by '-' or '转'.
    let compact: String = s.chars().filter(|&c| c != ' ').collect();
    let (main, ext_zhuan) = match compact.split_once('转') {
        // Accept `010-12345678-转123` as well as `010-12345678转123`.
        Some((main, ext)) => (main.strip_suffix('-').unwrap_or(main), Some(ext)),
        None => (compact.as_str(), None),
    };
    let groups: Vec<&str> = main.split('-').collect();
    if groups.iter().any(|g| g.is_empty()) {
        return Err(ValueError::PhoneFormat);
    }
    let Some((first, tail)) = groups.split_first() else {
        return Err(ValueError::PhoneFormat);
    };
    let area_len = area_code_len(first).ok_or(ValueError::PhoneAreaCode)?;

    let (area, number, ext_dash) = if first.len() == area_len {
        // `010-12345678` or `010-12345678-123`
        match tail {
            [] => return Err(ValueError::PhoneSubscriber),
            [number] => (*first, *number, None),
            [number, ext] => (*first, *number, Some(*ext)),
            _ => return Err(ValueError::PhoneFormat),
        }
    } else {
        // `01012345678` or `01012345678-123`
        let (area, number) = first
            .split_at_checked(area_len)
            .ok_or(ValueError::PhoneAreaCode)?;
        match tail {
            [] => (area, number, None),
            [ext] => (area, number, Some(*ext)),
            _ => return Err(ValueError::PhoneFormat),
        }
    };

    // Subscriber numbers are 7–8 digits and never start with 0 (trunk
    // prefix) or 1 (special service numbers).
    let number_ok = matches!(
        number.as_bytes(),
        [b'2'..=b'9', rest @ ..]
            if (6..=7).contains(&rest.len()) && rest.iter().all(u8::is_ascii_digit)
    );
    if !number_ok {
        return Err(ValueError::PhoneSubscriber);
    }

    let ext = match (ext_dash, ext_zhuan) {
        (Some(_), Some(_)) => return Err(ValueError::PhoneFormat),
        (a, b) => a.or(b),
    };
    if let Some(ext) = ext
        && ascii_number(ext, 1, 6).is_none()
    {
        return Err(ValueError::PhoneExtension);
    }

    let mut canonical = String::with_capacity(area.len() + number.len() + 12);
    canonical.push_str(area);
    canonical.push('-');
    canonical.push_str(number);
    let number_end = canonical.len();
    if let Some(ext) = ext {
        canonical.push('转');
        canonical.push_str(ext);
    }
    Ok(PhoneNumber {
        canonical,
        kind: PhoneKind::Landline,
        area_len: area.len(),
        number_end,
    })
}

// ---------------------------------------------------------------------------
// Resident identity numbers (GB 11643-1999)
// ---------------------------------------------------------------------------

/// Sex encoded in a resident ID number (GB 11643-1999 §4.4: the sequence code
/// is odd for males, even for females).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    /// Odd 17th digit.
    Male,
    /// Even 17th digit.
    Female,
}

/// Weights for the ISO 7064 MOD 11-2 check of GB 11643-1999 §4.5:
/// `W_i = 2^(i-1) mod 11`, with `i` counted from the right (i = 1 is the check
/// character itself, whose weight is 1), listed here for positions 1..=17
/// from the left.
const RESIDENT_ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

/// An 18-character resident identity number (居民身份证号码), GB 11643-1999.
///
/// Layout: 6-digit address code (first digit 1–8; not checked against the
/// GB/T 2260 table, which changes every year and codes of abolished divisions
/// stay valid in issued IDs), 8-digit birth date `YYYYMMDD`, 3-digit sequence
/// code (odd = male), 1 check character `0-9` or `X`.
///
/// Checked: length, digits, area-code first digit, birth date is a real date
/// in 1900-01-01..=2100-12-31 (deliberately not compared with "today": this
/// crate has no clock), and the check character.
/// 15-digit first-generation numbers (invalid since 2013) are rejected.
///
/// Canonical form: the 18 characters with a lowercase `x` upper-cased.
/// `Debug` prints only [`masked`](Self::masked).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ResidentId {
    canonical: String,
    birth_date: Date,
    sex: Sex,
}

/// ISO 7064 MOD 11-2 check character for the first 17 digits (each 0–9).
fn resident_id_check(digits: &[u32; 17]) -> char {
    let sum: u32 = digits
        .iter()
        .zip(RESIDENT_ID_WEIGHTS)
        .map(|(d, w)| d * w)
        .sum();
    // The check value c satisfies (sum + c) ≡ 1 (mod 11), i.e. c = (12 - sum mod 11) mod 11;
    // the value 10 is written as the Roman numeral X.
    match (12 - sum % 11) % 11 {
        10 => 'X',
        v => char::from_digit(v, 10).unwrap_or('0'),
    }
}

impl ResidentId {
    /// Parse an 18-character resident ID number. Surrounding whitespace and
    /// full-width digits are tolerated; a lowercase `x` is accepted.
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let normalized = normalize(input);
        let s = normalized.trim();
        if s.is_empty() {
            return Err(ValueError::ResidentIdEmpty);
        }
        let chars: Vec<char> = s.chars().collect();
        let chars: [char; 18] = chars
            .try_into()
            .map_err(|v: Vec<char>| ValueError::ResidentIdLength { len: v.len() })?;

        let mut digits = [0u32; 17];
        for (position, (slot, c)) in (1..).zip(digits.iter_mut().zip(&chars)) {
            *slot = c
                .to_digit(10)
                .ok_or(ValueError::ResidentIdNonDigit { position })?;
        }
        let got = chars[17].to_ascii_uppercase();
        if !(got.is_ascii_digit() || got == 'X') {
            return Err(ValueError::ResidentIdNonDigit { position: 18 });
        }

        // GB/T 2260 administrative divisions start with 1–8 (1 North China …
        // 8 Hong Kong/Macao/Taiwan); 0 and 9 are unassigned.
        if !(1..=8).contains(&digits[0]) {
            return Err(ValueError::ResidentIdAreaCode);
        }

        let number = |range: std::ops::Range<usize>| {
            digits
                .get(range)
                .unwrap_or_default()
                .iter()
                .fold(0u32, |acc, d| acc * 10 + d)
        };
        let (year, month, day) = (number(6..10), number(10..12), number(12..14));
        if !(1900..=2100).contains(&year) {
            return Err(ValueError::ResidentIdBirthDate);
        }
        let birth_date = match (i16::try_from(year), i8::try_from(month), i8::try_from(day)) {
            (Ok(y), Ok(m), Ok(d)) => {
                Date::new(y, m, d).map_err(|_| ValueError::ResidentIdBirthDate)?
            }
            _ => return Err(ValueError::ResidentIdBirthDate),
        };

        let expected = resident_id_check(&digits);
        if expected != got {
            return Err(ValueError::ResidentIdChecksum { expected, got });
        }

        let sex = if digits[16] % 2 == 1 {
            Sex::Male
        } else {
            Sex::Female
        };
        let mut canonical: String = chars[..17].iter().collect();
        canonical.push(got);
        Ok(ResidentId {
            canonical,
            birth_date,
            sex,
        })
    }

    /// Canonical 18-character form (check character `X` upper-case).
    pub fn as_str(&self) -> &str {
        &self.canonical
    }

    /// The 6-digit address code (where the number was first issued).
    pub fn area_code(&self) -> &str {
        self.canonical.get(..6).unwrap_or_default()
    }

    /// Birth date encoded in characters 7–14.
    pub fn birth_date(&self) -> Date {
        self.birth_date
    }

    /// Sex encoded by the parity of the 17th digit.
    pub fn sex(&self) -> Sex {
        self.sex
    }

    /// Masked form keeping the address code and the last 4 characters, with
    /// the birth date and the first two sequence digits hidden:
    /// `110105********002X`. This is the common display convention (e.g. on
    /// bank and railway tickets) and keeps enough for a caller to confirm an
    /// identity without exposing the birth date.
    pub fn masked(&self) -> String {
        let head = self.canonical.get(..6).unwrap_or_default();
        let tail = self.canonical.get(14..).unwrap_or_default();
        format!("{head}********{tail}")
    }
}

impl fmt::Debug for ResidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ResidentId").field(&self.masked()).finish()
    }
}

string_value!(ResidentId);

// ---------------------------------------------------------------------------
// Unified social credit codes (GB 32100-2015)
// ---------------------------------------------------------------------------

/// GB 32100-2015 §4 character set: digits and upper-case Latin letters except
/// I, O, Z, S, V (too easily confused with 1, 0, 2, 5, U). A character's index
/// is its numeric value in the check computation.
const SCC_CHARSET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// GB 32100-2015 §5 weights `W_i = 3^(i-1) mod 31` for positions 1..=17.
const SCC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

fn scc_value(c: char) -> Option<u32> {
    let position = SCC_CHARSET.iter().position(|&b| char::from(b) == c)?;
    u32::try_from(position).ok()
}

/// MOD 31 check character over the values of the first 17 characters.
fn scc_check(values: &[u32; 17]) -> char {
    let sum: u32 = values.iter().zip(SCC_WEIGHTS).map(|(v, w)| v * w).sum();
    // C18 = 31 - (sum mod 31), where a result of 31 is written as 0.
    let check = (31 - sum % 31) % 31;
    usize::try_from(check)
        .ok()
        .and_then(|i| SCC_CHARSET.get(i))
        .map_or('0', |&b| char::from(b))
}

/// An 18-character unified social credit code (统一社会信用代码), GB 32100-2015.
///
/// Layout: 1 registration authority, 2 organisation type, 3–8 administrative
/// division (digits), 9–17 organisation code (GB 11714), 18 check character
/// (MOD 31). Only the character set, the digit positions and the GB 32100
/// check character are verified; the registration-authority/type tables and
/// the inner GB 11714 check are not, as they are extended by regulators over
/// time and the outer check already catches typos.
///
/// Canonical form: upper case. Not personal data, so `Debug` is the plain code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SocialCreditCode {
    canonical: String,
}

impl SocialCreditCode {
    /// Parse a unified social credit code; lowercase letters are accepted.
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let normalized = normalize(input);
        let s = normalized.trim();
        if s.is_empty() {
            return Err(ValueError::SocialCreditCodeEmpty);
        }
        let chars: Vec<char> = s.chars().map(|c| c.to_ascii_uppercase()).collect();
        let chars: [char; 18] = chars
            .try_into()
            .map_err(|v: Vec<char>| ValueError::SocialCreditCodeLength { len: v.len() })?;

        let mut values = [0u32; 18];
        for (position, (slot, &c)) in (1..).zip(values.iter_mut().zip(&chars)) {
            *slot = scc_value(c).ok_or(ValueError::SocialCreditCodeInvalidChar { position })?;
            if (3..=8).contains(&position) && !c.is_ascii_digit() {
                return Err(ValueError::SocialCreditCodeDivision { position });
            }
        }
        let mut body = [0u32; 17];
        body.copy_from_slice(&values[..17]);
        let expected = scc_check(&body);
        let got = chars[17];
        if expected != got {
            return Err(ValueError::SocialCreditCodeChecksum { expected, got });
        }
        Ok(SocialCreditCode {
            canonical: chars.iter().collect(),
        })
    }

    /// Canonical upper-case form.
    pub fn as_str(&self) -> &str {
        &self.canonical
    }

    /// Position 1: registration management authority (e.g. `9` = market regulation).
    pub fn registration_authority(&self) -> char {
        self.canonical.chars().next().unwrap_or('0')
    }

    /// Position 2: organisation type within the authority (e.g. `1` = enterprise).
    pub fn organisation_type(&self) -> char {
        self.canonical.chars().nth(1).unwrap_or('0')
    }

    /// Positions 3–8: administrative division code of the registering authority.
    pub fn admin_division(&self) -> &str {
        self.canonical.get(2..8).unwrap_or_default()
    }

    /// Positions 9–17: organisation code (GB 11714).
    pub fn organisation_code(&self) -> &str {
        self.canonical.get(8..17).unwrap_or_default()
    }
}

string_value!(SocialCreditCode);

// ---------------------------------------------------------------------------
// Email
// ---------------------------------------------------------------------------

/// An email address, checked pragmatically rather than against the full
/// RFC 5322 grammar (quoted local parts, comments and IP-literal domains are
/// rejected; nobody filing a complaint uses them).
///
/// * exactly one `@`; whole address ≤ 254 bytes (RFC 5321 §4.5.3.1.3 path limit);
/// * local part 1–64 bytes (RFC 5321 §4.5.3.1.1) of RFC 5322 `atext`
///   characters or non-ASCII (RFC 6531), dots allowed but not first, last
///   or doubled;
/// * domain of ≥ 2 dot-separated labels, each 1–63 bytes of `[A-Za-z0-9-]` or
///   non-ASCII (IDN in Unicode form, not converted to punycode), not starting
///   or ending with `-`; the top-level label is not all digits. The ideographic
///   full stop `。` is accepted as a dot, as UTS #46 does.
///
/// Canonical form: local part as typed (it is case-sensitive per RFC 5321),
/// domain lower-cased. `Debug` prints only [`masked`](Self::masked).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Email {
    canonical: String,
    /// Byte index of the `@` in `canonical`.
    at: usize,
}

fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c) || !c.is_ascii()
}

fn is_valid_domain(domain: &str) -> bool {
    if domain.len() > 253 {
        return false;
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return false;
    }
    let labels_ok = labels.iter().all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || !c.is_ascii())
    });
    let tld_ok = labels
        .last()
        .is_some_and(|tld| !tld.chars().all(|c| c.is_ascii_digit()));
    labels_ok && tld_ok
}

impl Email {
    /// Parse an email address; see the type docs for the rules.
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let normalized = normalize(input);
        let s = normalized.trim();
        if s.is_empty() {
            return Err(ValueError::EmailEmpty);
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ValueError::EmailWhitespace);
        }
        if s.len() > 254 {
            return Err(ValueError::EmailTooLong);
        }
        let mut parts = s.split('@');
        let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(ValueError::EmailAtSign);
        };

        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local.chars().all(|c| c == '.' || is_atext(c));
        if !local_ok {
            return Err(ValueError::EmailLocalPart);
        }

        // U+3002 / U+FF61 are label separators in IDNA (UTS #46); U+FF0E was
        // already folded to '.' by `normalize`.
        let domain: String = domain
            .chars()
            .map(|c| {
                if matches!(c, '\u{3002}' | '\u{FF61}') {
                    '.'
                } else {
                    c
                }
            })
            .collect::<String>()
            .to_lowercase();
        if !is_valid_domain(&domain) {
            return Err(ValueError::EmailDomain);
        }

        let canonical = format!("{local}@{domain}");
        if canonical.len() > 254 {
            // Lower-casing can change the byte length of non-ASCII text.
            return Err(ValueError::EmailTooLong);
        }
        Ok(Email {
            at: local.len(),
            canonical,
        })
    }

    /// Canonical form: local part as typed, domain lower-cased.
    pub fn as_str(&self) -> &str {
        &self.canonical
    }

    /// The part before `@`.
    pub fn local_part(&self) -> &str {
        self.canonical.get(..self.at).unwrap_or_default()
    }

    /// The (lower-cased) domain after `@`.
    pub fn domain(&self) -> &str {
        self.canonical.get(self.at + 1..).unwrap_or_default()
    }

    /// Masked form keeping the first character of the local part and the
    /// domain: `z***@example.com`.
    pub fn masked(&self) -> String {
        let first = self.local_part().chars().next().unwrap_or('*');
        format!("{first}***@{}", self.domain())
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Email").field(&self.masked()).finish()
    }
}

string_value!(Email);

// ---------------------------------------------------------------------------
// Money
// ---------------------------------------------------------------------------

/// An amount of Chinese yuan (CNY), stored as an integer number of fen
/// (分, 1/100 yuan), the smallest unit in use. Integer storage makes sums
/// exact; floating point must never touch money.
///
/// Every `i64` is a valid amount (negative amounts are refunds/adjustments),
/// so besides [`parse`](Self::parse) there is [`from_fen`](Self::from_fen).
///
/// `Display` is the canonical form `-1234.50`: optional `-`, integer yuan
/// without grouping, `.`, exactly two digits.
///
/// Serde: (de)serialises as the integer number of fen, e.g. `1250` for
/// ¥12.50, so the JSON API never handles decimal strings or floats. (Values
/// beyond ±2^53 fen, i.e. ±90 trillion yuan, would lose precision in
/// JavaScript; they do not occur in complaints.)
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Money(i64);

impl Money {
    /// Zero yuan.
    pub const ZERO: Money = Money(0);

    /// Parse an amount in yuan.
    ///
    /// Accepted: `12`, `12.5`, `12.50`, `-3.01`, `1,234.56` (comma groups of
    /// exactly three digits, so the European decimal comma `12,5` is rejected
    /// rather than misread as 125), an optional `¥`/`￥` prefix and/or `元`
    /// suffix (`¥12.00`, `12元`, `-¥3`, `¥-3`), full-width digits.
    /// Rejected: empty, more than 2 decimals, a bare `.5` or `12.`, `+`, and
    /// anything outside the `i64` fen range.
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let normalized = normalize(input);
        let mut s = normalized.trim();
        if s.is_empty() {
            return Err(ValueError::MoneyEmpty);
        }
        if let Some(rest) = s.strip_suffix('元') {
            s = rest.trim_end();
        }
        let mut negative = false;
        if let Some(rest) = s.strip_prefix(['-', '\u{2212}']) {
            negative = true;
            s = rest.trim_start();
        }
        if let Some(rest) = s.strip_prefix(['¥', '\u{FFE5}']) {
            s = rest.trim_start();
            if let Some(rest) = s.strip_prefix(['-', '\u{2212}']) {
                if negative {
                    return Err(ValueError::MoneyFormat);
                }
                negative = true;
                s = rest;
            }
        }

        let (int_part, frac_part) = match s.split_once('.') {
            Some((int, frac)) => (int, Some(frac)),
            None => (s, None),
        };

        let groups: Vec<&str> = int_part.split(',').collect();
        let grouping_ok = match groups.split_first() {
            Some((first, [])) => !first.is_empty(),
            Some((first, rest)) => {
                (1..=3).contains(&first.len()) && rest.iter().all(|g| g.len() == 3)
            }
            None => false,
        };
        if !grouping_ok || !groups.iter().all(|g| g.bytes().all(|b| b.is_ascii_digit())) {
            return Err(ValueError::MoneyFormat);
        }

        let frac_fen: i128 = match frac_part {
            None => 0,
            Some(frac) if frac.is_empty() || !frac.bytes().all(|b| b.is_ascii_digit()) => {
                return Err(ValueError::MoneyFormat);
            }
            Some(frac) if frac.len() > 2 => return Err(ValueError::MoneyPrecision),
            Some(frac) => {
                let v = i128::from(ascii_number(frac, 1, 2).ok_or(ValueError::MoneyFormat)?);
                if frac.len() == 1 { v * 10 } else { v }
            }
        };

        let yuan = groups
            .iter()
            .flat_map(|g| g.bytes())
            .try_fold(0i128, |acc, b| {
                acc.checked_mul(10)?.checked_add(i128::from(b - b'0'))
            })
            .ok_or(ValueError::MoneyOverflow)?;
        let fen = yuan
            .checked_mul(100)
            .and_then(|f| f.checked_add(frac_fen))
            .ok_or(ValueError::MoneyOverflow)?;
        let fen = if negative { -fen } else { fen };
        i64::try_from(fen)
            .map(Money)
            .map_err(|_| ValueError::MoneyOverflow)
    }

    /// An amount of `fen` fen (1/100 yuan).
    pub const fn from_fen(fen: i64) -> Self {
        Money(fen)
    }

    /// The amount in fen.
    pub const fn fen(self) -> i64 {
        self.0
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

impl FromStr for Money {
    type Err = ValueError;

    fn from_str(s: &str) -> Result<Self, ValueError> {
        Money::parse(s)
    }
}

// ---------------------------------------------------------------------------
// Dates and date-times
// ---------------------------------------------------------------------------

/// Which way a date/time failed, before being mapped to the caller's error.
enum Bad {
    Format,
    Invalid,
}

fn date_parts(s: &str) -> Result<Date, Bad> {
    let (y, m, d) = if let Some(body) = s.strip_suffix('日') {
        let (y, rest) = body.split_once('年').ok_or(Bad::Format)?;
        let (m, d) = rest.split_once('月').ok_or(Bad::Format)?;
        (y, m, d)
    } else {
        let sep = s.chars().find(|c| !c.is_ascii_digit()).ok_or(Bad::Format)?;
        if !matches!(sep, '-' | '/' | '.') {
            return Err(Bad::Format);
        }
        let mut parts = s.split(sep);
        let (Some(y), Some(m), Some(d), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Bad::Format);
        };
        (y, m, d)
    };
    let y = ascii_number(y, 4, 4).ok_or(Bad::Format)?;
    let m = ascii_number(m, 1, 2).ok_or(Bad::Format)?;
    let d = ascii_number(d, 1, 2).ok_or(Bad::Format)?;
    match (i16::try_from(y), i8::try_from(m), i8::try_from(d)) {
        (Ok(y), Ok(m), Ok(d)) => Date::new(y, m, d).map_err(|_| Bad::Invalid),
        _ => Err(Bad::Invalid),
    }
}

/// Parse a calendar date.
///
/// Accepted: `2026-09-30`, `2026/09/30`, `2026.09.30` (one separator kind per
/// date) and `2026年9月30日`; month and day may have 1 or 2 digits, the year
/// exactly 4. The date must exist (no 2026-02-30).
pub fn parse_date(input: &str) -> Result<Date, ValueError> {
    let normalized = normalize(input);
    let s = normalized.trim();
    if s.is_empty() {
        return Err(ValueError::DateEmpty);
    }
    date_parts(s).map_err(|bad| match bad {
        Bad::Format => ValueError::DateFormat,
        Bad::Invalid => ValueError::DateInvalid,
    })
}

/// `H:MM`, `HH:MM`, `HH:MM:SS` or `HH:MM:SS.fffffffff`.
fn time_parts(s: &str) -> Result<Time, Bad> {
    let mut parts = s.split(':');
    let (Some(h), Some(m), sec, None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Bad::Format);
    };
    let h = ascii_number(h, 1, 2).ok_or(Bad::Format)?;
    let m = ascii_number(m, 2, 2).ok_or(Bad::Format)?;
    let (sec, nanos) = match sec {
        None => (0, 0),
        Some(sec) => {
            let (whole, frac) = match sec.split_once('.') {
                Some((whole, frac)) => (whole, Some(frac)),
                None => (sec, None),
            };
            let whole = ascii_number(whole, 2, 2).ok_or(Bad::Format)?;
            let nanos = match frac {
                None => 0,
                Some(frac) => {
                    let v = ascii_number(frac, 1, 9).ok_or(Bad::Format)?;
                    let scale = u32::try_from(9 - frac.len()).map_err(|_| Bad::Format)?;
                    v.checked_mul(10u32.pow(scale)).ok_or(Bad::Format)?
                }
            };
            (whole, nanos)
        }
    };
    // Leap seconds (:60) are rejected: civil times cannot represent them.
    match (
        i8::try_from(h),
        i8::try_from(m),
        i8::try_from(sec),
        i32::try_from(nanos),
    ) {
        (Ok(h), Ok(m), Ok(s), Ok(n)) => Time::new(h, m, s, n).map_err(|_| Bad::Invalid),
        _ => Err(Bad::Invalid),
    }
}

/// `Z` or `±HH:MM` (RFC 3339), also `±HHMM`.
fn offset_parts(s: &str) -> Result<Offset, Bad> {
    if s.eq_ignore_ascii_case("z") {
        return Ok(Offset::UTC);
    }
    let (sign, rest) = if let Some(rest) = s.strip_prefix('+') {
        (1, rest)
    } else if let Some(rest) = s.strip_prefix('-') {
        (-1, rest)
    } else {
        return Err(Bad::Format);
    };
    let (h, m) = match rest.split_once(':') {
        Some((h, m)) => (h, m),
        None => rest.split_at_checked(2).ok_or(Bad::Format)?,
    };
    let h = ascii_number(h, 2, 2).ok_or(Bad::Format)?;
    let m = ascii_number(m, 2, 2).ok_or(Bad::Format)?;
    if h > 23 || m > 59 {
        return Err(Bad::Format);
    }
    let seconds = i32::try_from(h * 3600 + m * 60).map_err(|_| Bad::Format)?;
    Offset::from_seconds(sign * seconds).map_err(|_| Bad::Format)
}

fn datetime_parts(s: &str) -> Result<Timestamp, Bad> {
    let (date, rest) = match s.find(['T', 't']) {
        Some(i) => (s.get(..i), s.get(i + 1..)),
        None => match s.split_once(' ') {
            Some((date, rest)) => (Some(date), Some(rest)),
            None => (None, None),
        },
    };
    let (Some(date), Some(rest)) = (date, rest) else {
        return Err(Bad::Format);
    };
    let date = date_parts(date.trim_end())?;
    let rest = rest.trim_start();
    let (time, offset) = match rest.find(['Z', 'z', '+', '-']) {
        Some(i) => (rest.get(..i).unwrap_or_default(), rest.get(i..)),
        None => (rest, None),
    };
    let time = time_parts(time.trim_end())?;
    let datetime = DateTime::from_parts(date, time);
    match offset {
        Some(offset) => offset_parts(offset)?
            .to_timestamp(datetime)
            .map_err(|_| Bad::Invalid),
        // China Standard Time (UTC+08:00), see `crate::china_tz`.
        None => crate::china_tz()
            .to_timestamp(datetime)
            .map_err(|_| Bad::Invalid),
    }
}

/// Parse an instant.
///
/// Accepted:
///
/// * RFC 3339 with offset: `2026-09-30T14:05:00+08:00`, `2026-09-30T06:05:00Z`,
///   fractional seconds up to nanoseconds, `t`/`z`/space variants (RFC 3339
///   §5.6 allows them), and `+0800` without the colon;
/// * a naive local time `2026-09-30T14:05`, `2026-09-30 14:05` or
///   `2026-09-30 14:05:30` (seconds and fraction optional), interpreted as
///   China Standard Time (UTC+08:00). The date part of a naive time may use any
///   [`parse_date`] form, e.g. `2026年9月30日 14:05`.
///
/// Leap seconds (`:60`) and time-zone names (`[Asia/Shanghai]`) are rejected.
pub fn parse_datetime(input: &str) -> Result<Timestamp, ValueError> {
    let normalized = normalize(input);
    let s = normalized.trim();
    if s.is_empty() {
        return Err(ValueError::DateTimeEmpty);
    }
    datetime_parts(s).map_err(|bad| match bad {
        Bad::Format => ValueError::DateTimeFormat,
        Bad::Invalid => ValueError::DateTimeInvalid,
    })
}
