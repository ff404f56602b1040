//! `multipart/form-data` (RFC 7578) read from a body already in memory.
//!
//! File uploads are the only multipart requests manyi takes, and their bodies are bounded
//! (the attachment limit), so the whole body is buffered first and split here: a pure
//! function, tested without a server, and no streaming parser crate to carry.

/// One part of a form: a field, or a file when `filename` is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub name: String,
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub data: Vec<u8>,
}

impl Part {
    /// The part as text (a form field), lossily.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.data).into_owned()
    }
}

/// The boundary named by a `Content-Type: multipart/form-data; boundary=…` header.
pub fn boundary(content_type: &str) -> Option<String> {
    let (mime, params) = content_type.split_once(';')?;
    if !mime.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.split(';').find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        let v = v.trim().trim_matches('"');
        (k.trim().eq_ignore_ascii_case("boundary") && !v.is_empty() && v.len() <= 70)
            .then(|| v.to_owned())
    })
}

/// Splits a body into its parts; `None` when it is not well-formed.
pub fn parse(body: &[u8], boundary: &str) -> Option<Vec<Part>> {
    let delimiter = format!("--{boundary}").into_bytes();
    let mut rest = body;
    // Skip the preamble up to the first delimiter.
    let start = find(rest, &delimiter)?;
    rest = &rest[start + delimiter.len()..];
    let mut parts = Vec::new();
    loop {
        if rest.starts_with(b"--") {
            return Some(parts); // the close delimiter
        }
        rest = rest.strip_prefix(b"\r\n")?;
        let headers_end = find(rest, b"\r\n\r\n")?;
        let headers = std::str::from_utf8(&rest[..headers_end]).ok()?;
        rest = &rest[headers_end + 4..];
        let mut next = b"\r\n".to_vec();
        next.extend_from_slice(&delimiter);
        let end = find(rest, &next)?;
        let data = rest[..end].to_vec();
        rest = &rest[end + next.len()..];
        parts.push(part(headers, data)?);
    }
}

fn part(headers: &str, data: Vec<u8>) -> Option<Part> {
    let mut name = None;
    let mut filename = None;
    let mut content_type = None;
    for line in headers.split("\r\n") {
        let (key, value) = line.split_once(':')?;
        let key = key.trim();
        if key.eq_ignore_ascii_case("content-disposition") {
            for param in value.split(';').skip(1) {
                let Some((k, v)) = param.trim().split_once('=') else {
                    continue;
                };
                let v = v.trim().trim_matches('"').to_owned();
                match k.trim() {
                    "name" => name = Some(v),
                    "filename" => filename = Some(v),
                    _ => {}
                }
            }
        } else if key.eq_ignore_ascii_case("content-type") {
            content_type = Some(value.trim().to_owned());
        }
    }
    Some(Part {
        name: name?,
        filename,
        content_type,
        data,
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_browser_form_with_a_field_and_a_file_is_split_into_its_parts() {
        let body = b"preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\nabc\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\xe5\x9b\x9e\xe5\x8d\x95.png\"\r\n\
Content-Type: image/png\r\n\r\n\x89PNG\r\n\x1a\n--X\r\n--XyZ--\r\n";
        let parts = parse(body, "XyZ").expect("well-formed");
        assert_eq!(parts.len(), 2);
        assert_eq!(
            (parts[0].name.as_str(), parts[0].text().as_str()),
            ("csrf", "abc")
        );
        assert_eq!(parts[1].filename.as_deref(), Some("回单.png"));
        assert_eq!(parts[1].content_type.as_deref(), Some("image/png"));
        assert_eq!(parts[1].data, b"\x89PNG\r\n\x1a\n--X");
    }

    #[test]
    fn the_boundary_comes_from_the_content_type_and_a_truncated_body_is_refused() {
        assert_eq!(
            boundary("multipart/form-data; boundary=----abc").as_deref(),
            Some("----abc")
        );
        assert_eq!(boundary("application/json"), None);
        assert_eq!(
            parse(
                b"--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nno end",
                "b"
            ),
            None
        );
        assert_eq!(parse(b"", "b"), None);
    }
}
