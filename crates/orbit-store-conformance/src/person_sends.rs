//! A person's messages, for their 360° view: under every id they had, newest first,
//! paged without skipping or repeating rows written together.

use super::messaging::{new_send, person};
use super::{at, ws};
use orbit_core::WorkspaceId;
use orbit_store::{SendState, Stores};

/// A person's messages come under each of their ids, newest first, and page through
/// rows written in the same second; other people's and other workspaces' do not.
pub async fn a_person_s_messages_page_newest_first_under_every_id(stores: &Stores) {
    let ledger = &stores.ledger;
    let (survivor, merged, stranger) = (person(7_001), person(7_002), person(7_003));
    let mut sends = Vec::new();
    for (n, origin) in ["campaign:a:run:1", "campaign:b:run:1", "campaign:c:run:1"]
        .iter()
        .enumerate()
    {
        let mut send = new_send(origin, survivor, SendState::Scheduled, 1);
        // The first two written in the same second: the id breaks the tie.
        send.created_at = at(if n == 2 { 20 } else { 10 });
        sends.push(send);
    }
    let mut old = new_send("campaign:d:run:1", merged, SendState::Suppressed, 1);
    old.created_at = at(5);
    sends.push(old);
    sends.push(new_send("campaign:a:run:1", stranger, SendState::Scheduled, 1));
    let mut elsewhere = new_send("campaign:a:run:1", survivor, SendState::Scheduled, 1);
    elsewhere.workspace_id = WorkspaceId::parse("acme").unwrap();
    elsewhere.id = format!("{}-acme", elsewhere.id);
    sends.push(elsewhere);
    ledger.insert_sends(&sends).await.unwrap();

    let people = [survivor, merged];
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = ledger
            .sends_of_people(&ws(), &people, 2, cursor.clone())
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        cursor = Some((last.send.created_at, last.send.id.clone()));
        seen.extend(page.into_iter().map(|r| (r.send.created_at, r.send.origin)));
    }
    assert_eq!(seen.len(), 4, "{seen:?}");
    assert_eq!(seen[0], (at(20), "campaign:c:run:1".to_owned()), "newest first");
    assert_eq!(
        seen[3],
        (at(5), "campaign:d:run:1".to_owned()),
        "a merged id's too"
    );
    let mut tied: Vec<&str> = seen[1..3].iter().map(|(_, o)| o.as_str()).collect();
    tied.sort_unstable();
    assert_eq!(
        tied,
        ["campaign:a:run:1", "campaign:b:run:1"],
        "no row skipped or repeated"
    );
    assert!(
        ledger
            .sends_of_people(&ws(), &[], 10, None)
            .await
            .unwrap()
            .is_empty(),
        "nobody has no messages"
    );
}
