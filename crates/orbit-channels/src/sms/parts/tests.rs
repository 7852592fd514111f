use proptest::prelude::*;

use super::*;

fn carrier(text: &str) -> PartCount {
    count_parts(text, CountingRule::Carrier)
}

fn parts_of(text: &str) -> u32 {
    carrier(text).parts
}

#[test]
fn gsm7_fits_160_septets_in_one_part_and_153_per_part_after() {
    for (len, parts) in [
        (0, 1),
        (1, 1),
        (160, 1),
        (161, 2),
        (306, 2),
        (307, 3),
        (459, 3),
        (460, 4),
    ] {
        let text = "a".repeat(len);
        let count = carrier(&text);
        assert_eq!(count.encoding, Encoding::Gsm7, "{len}");
        assert_eq!(count.length, len as u32, "{len}");
        assert_eq!(count.parts, parts, "{len} septets");
    }
}

#[test]
fn gsm7_accented_and_greek_letters_stay_one_septet() {
    let text = "Hé! Ça coûte 5€? Δ_ß";
    // 'û' is not GSM-7: the whole text goes UCS-2.
    assert_eq!(carrier(text).encoding, Encoding::Ucs2);
    let text = "Hé! Ça coute 5£? Δ_ß @ ¿¡ §";
    let count = carrier(text);
    assert_eq!(count.encoding, Encoding::Gsm7);
    assert_eq!(count.length, text.chars().count() as u32);
}

#[test]
fn gsm7_extension_characters_count_two_septets() {
    for c in ['^', '{', '}', '\\', '[', ']', '~', '|', '€', '\u{0C}'] {
        let count = carrier(&c.to_string());
        assert_eq!((count.encoding, count.length), (Encoding::Gsm7, 2), "{c:?}");
    }
    // 80 escapes are exactly 160 septets: one part; one more septet splits.
    assert_eq!(parts_of(&"{".repeat(80)), 1);
    assert_eq!(parts_of(&format!("{}a", "{".repeat(80))), 2);
    assert_eq!(parts_of(&format!("{}aa", "{".repeat(79))), 1);
    assert_eq!(parts_of(&format!("{}aaa", "{".repeat(79))), 2);
}

#[test]
fn gsm7_escape_pair_at_a_part_boundary_moves_to_the_next_part() {
    // 152 + 2 + 152 = 306 septets would fill two parts exactly, but the escape
    // cannot straddle septets 153/154: the first part ends at 152 and the rest
    // (154 septets) needs two more.
    let text = format!("{}€{}", "a".repeat(152), "a".repeat(152));
    let count = carrier(&text);
    assert_eq!(count.length, 306);
    assert_eq!(count.parts, 3);
    // The same escape one septet earlier fits: 151 + 2 = 153.
    let text = format!("{}€{}", "a".repeat(151), "a".repeat(153));
    assert_eq!(carrier(&text).length, 306);
    assert_eq!(carrier(&text).parts, 2);
}

#[test]
fn ucs2_fits_70_units_in_one_part_and_67_per_part_after() {
    for (len, parts) in [(1, 1), (70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4)] {
        let text = "中".repeat(len);
        let count = carrier(&text);
        assert_eq!(count.encoding, Encoding::Ucs2, "{len}");
        assert_eq!(count.length, len as u32, "{len}");
        assert_eq!(count.parts, parts, "{len} units");
    }
}

#[test]
fn one_non_gsm_character_makes_the_whole_text_ucs2() {
    let text = format!("中{}", "a".repeat(69));
    assert_eq!(carrier(&text).encoding, Encoding::Ucs2);
    assert_eq!(parts_of(&text), 1);
    assert_eq!(parts_of(&format!("{text}a")), 2);
    // 160 Latin letters are one GSM-7 part, but three UCS-2 parts with an emoji.
    assert_eq!(parts_of(&"a".repeat(160)), 1);
    assert_eq!(parts_of(&format!("{}😀", "a".repeat(158))), 3);
}

#[test]
fn emoji_count_two_units_and_are_never_split() {
    let count = carrier(&"😀".repeat(35));
    assert_eq!(
        (count.encoding, count.length, count.parts),
        (Encoding::Ucs2, 70, 1)
    );
    assert_eq!(parts_of(&format!("{}a", "😀".repeat(35))), 2);
    // 66 + 2 + 66 = 134 units would fill two parts exactly, but the pair cannot
    // straddle units 67/68: the first part ends at 66, the rest (68) needs two.
    let text = format!("{}😀{}", "中".repeat(66), "中".repeat(66));
    assert_eq!(carrier(&text).length, 134);
    assert_eq!(carrier(&text).parts, 3);
    let text = format!("{}😀{}", "中".repeat(65), "中".repeat(67));
    assert_eq!(carrier(&text).parts, 2);
}

#[test]
fn chinese_providers_count_the_signature_and_every_character_as_one() {
    let rule = CountingRule::ChineseProvider {
        signature: "阿里云"
    };
    // 【阿里云】 is 5 characters.
    for (text_len, parts) in [(65, 1), (66, 2), (129, 2), (130, 3), (196, 3), (197, 4)] {
        for letter in ["中", "a", "€"] {
            let count = count_parts(&letter.repeat(text_len), rule);
            assert_eq!(count.encoding, Encoding::Characters);
            assert_eq!(count.length, text_len as u32 + 5);
            assert_eq!(count.parts, parts, "{text_len} × {letter}");
        }
    }
    // Latin text that would be one GSM-7 part is billed 70/67 by these providers.
    let latin = "a".repeat(100);
    assert_eq!(parts_of(&latin), 1);
    assert_eq!(count_parts(&latin, rule).parts, 2);
}

/// Splits a carrier text into its parts the slow way, keeping each part's
/// characters whole, to check the counter against.
fn split_reference(text: &str) -> Vec<String> {
    let gsm = text.chars().all(|c| gsm7_septets(c).is_some());
    let cost = |c: char| {
        if gsm {
            gsm7_septets(c).unwrap_or(1)
        } else {
            c.len_utf16() as u32
        }
    };
    let (single, per_part) = if gsm { (160, 153) } else { (70, 67) };
    if text.chars().map(cost).sum::<u32>() <= single {
        return vec![text.to_owned()];
    }
    let mut parts = vec![String::new()];
    let mut used = 0;
    for c in text.chars() {
        if used + cost(c) > per_part {
            parts.push(String::new());
            used = 0;
        }
        used += cost(c);
        parts.last_mut().expect("one part at least").push(c);
    }
    parts
}

fn sms_text() -> impl Strategy<Value = String> {
    let alphabet = prop_oneof![
        8 => prop::sample::select(vec!['a', 'Z', '7', ' ', '@', 'é', 'Δ', '\n']),
        2 => prop::sample::select(vec!['{', '€', '^', '\\']),
        1 => prop::sample::select(vec!['中', 'ü', '😀', '🎉']),
    ];
    prop::collection::vec(alphabet, 0..500).prop_map(|chars| chars.into_iter().collect())
}

proptest! {
    #[test]
    fn the_count_matches_an_actual_split(text in sms_text()) {
        let parts = split_reference(&text);
        prop_assert_eq!(parts.concat(), text.clone());
        prop_assert_eq!(parts_of(&text), parts.len() as u32);
    }

    #[test]
    fn appending_never_lowers_the_count(text in sms_text(), extra in sms_text()) {
        let longer = format!("{text}{extra}");
        let same_encoding = carrier(&text).encoding == carrier(&longer).encoding;
        if same_encoding {
            prop_assert!(parts_of(&longer) >= parts_of(&text));
        }
        let rule = CountingRule::ChineseProvider { signature: "签名" };
        prop_assert!(count_parts(&longer, rule).parts >= count_parts(&text, rule).parts);
    }

    #[test]
    fn parts_never_exceed_what_the_length_needs_by_more_than_pairs_allow(text in sms_text()) {
        let count = carrier(&text);
        let (single, per_part) = match count.encoding {
            Encoding::Gsm7 => (160, 153),
            _ => (70, 67),
        };
        let minimum = if count.length <= single { 1 } else { count.length.div_ceil(per_part) };
        prop_assert!(count.parts >= minimum);
        // Each part loses at most one unit to a pair pushed to the next part.
        let maximum = if count.length <= single { 1 } else { count.length.div_ceil(per_part - 1) };
        prop_assert!(count.parts <= maximum);
    }
}
