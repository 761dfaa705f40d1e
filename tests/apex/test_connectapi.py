"""ConnectApi (issue 18): ``ConnectApi.ChatterFeeds`` posts, reads, comments on, likes, edits and deletes the org's
FeedItem / FeedComment / FeedLike rows with Salesforce's output classes; writes count one DML statement each;
Apex tests need SeeAllData=true for org data and setTest* doubles for feeds and search; the rest of ConnectApi is
refused at compile."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from localcloud.salesforce.apex import ApexCompileError
from localcloud.salesforce.apex.orgruntime import ApexRuntime
from localcloud.salesforce.data import open_store

POSTER = """public with sharing class Poster {
    public static ConnectApi.FeedElement mention(Id subjectId, Id userId, String text) {
        ConnectApi.FeedItemInput feedItemInput = new ConnectApi.FeedItemInput();
        ConnectApi.MentionSegmentInput mentionSegmentInput = new ConnectApi.MentionSegmentInput();
        ConnectApi.MessageBodyInput messageBodyInput = new ConnectApi.MessageBodyInput();
        ConnectApi.TextSegmentInput textSegmentInput = new ConnectApi.TextSegmentInput();
        ConnectApi.LinkSegmentInput linkSegmentInput = new ConnectApi.LinkSegmentInput();
        messageBodyInput.messageSegments = new List<ConnectApi.MessageSegmentInput>();
        mentionSegmentInput.id = userId;
        messageBodyInput.messageSegments.add(mentionSegmentInput);
        textSegmentInput.text = text;
        messageBodyInput.messageSegments.add(textSegmentInput);
        linkSegmentInput.url = 'https://example.com/x';
        messageBodyInput.messageSegments.add(linkSegmentInput);
        feedItemInput.body = messageBodyInput;
        feedItemInput.feedElementType = ConnectApi.FeedElementType.FeedItem;
        feedItemInput.subjectId = subjectId;
        return ConnectApi.ChatterFeeds.postFeedElement(Network.getNetworkId(), feedItemInput);
    }
}"""
FEED_TRIGGER = """trigger FeedItemSeen on FeedItem (after insert) {
    for (FeedItem f : Trigger.new) { System.debug('trigger saw ' + f.Body); }
}"""


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[ApexRuntime]:
    store = open_store(tmp_path / "org.sqlite3")
    yield ApexRuntime(store, sources={"Poster.cls": POSTER, "FeedItemSeen.trigger": FEED_TRIGGER})
    store.close()


def debug(result) -> list[str]:  # noqa: ANN001
    assert result.success, f"{result.exception_type}: {result.exception_message}\n{result.stack_trace}"
    return [m for _, level, m in result.transaction.debug_entries if level == "DEBUG"]


def test_post_feed_element_with_segments_creates_a_feed_item(runtime: ApexRuntime) -> None:
    out = debug(runtime.execute_anonymous("""
        Account a = new Account(Name = 'Acme');
        insert a;
        ConnectApi.FeedElement fe = Poster.mention(a.Id, UserInfo.getUserId(), ' please look at ');
        ConnectApi.FeedItem item = (ConnectApi.FeedItem) fe;
        System.debug((fe instanceof ConnectApi.FeedItem) + ' ' + item.feedElementType + ' ' + item.visibility);
        System.debug(item.body.text);
        List<String> kinds = new List<String>();
        for (ConnectApi.MessageSegment s : item.body.messageSegments) { kinds.add(s.type + ':' + s.text); }
        System.debug(String.join(kinds, '|'));
        FeedItem row = [SELECT Id, Body, ParentId, Type, CreatedById FROM FeedItem WHERE Id = :item.id];
        System.debug((row.ParentId == a.Id) + ' ' + row.Type + ' ' + (row.CreatedById == UserInfo.getUserId())
            + ' ' + (item.createdDate != null) + ' ' + row.Body);
    """))
    assert out == ["trigger saw @ECBridge Admin please look at https://example.com/x",
                   "true FeedItem AllUsers",
                   "@ECBridge Admin please look at https://example.com/x",
                   "Mention:@ECBridge Admin|Text: please look at |Link:https://example.com/x",
                   "true TextPost true true @ECBridge Admin please look at https://example.com/x"]


def test_post_text_to_me_and_errors_are_connect_api_exceptions(runtime: ApexRuntime) -> None:
    out = debug(runtime.execute_anonymous("""
        ConnectApi.FeedElement fe = ConnectApi.ChatterFeeds.postFeedElement(null, 'me',
            ConnectApi.FeedElementType.FeedItem, 'On vacation this week.');
        System.debug(fe.body.text + ' ' + ([SELECT ParentId FROM FeedItem WHERE Id = :fe.id].ParentId == UserInfo.getUserId()));
        List<String> errors = new List<String>();
        try { ConnectApi.ChatterFeeds.postFeedElement(null, '001000000000000AAA', ConnectApi.FeedElementType.FeedItem, 'x'); }
        catch (ConnectApi.ConnectApiException e) { errors.add(e.getMessage()); }
        try { ConnectApi.ChatterFeeds.postFeedElement('0DB000000000001', 'me', ConnectApi.FeedElementType.FeedItem, 'x'); }
        catch (ConnectApi.ConnectApiException e) { errors.add(e.getMessage()); }
        try { ConnectApi.ChatterFeeds.postFeedElement(null, 'me', ConnectApi.FeedElementType.Bundle, 'x'); }
        catch (ConnectApi.ConnectApiException e) { errors.add(e.getMessage()); }
        try { ConnectApi.ChatterFeeds.postFeedElement(null, new ConnectApi.FeedItemInput()); }
        catch (ConnectApi.ConnectApiException e) { errors.add(e.getMessage()); }
        try { Poster.mention(UserInfo.getUserId(), '005000000000000AAA', 'x'); }
        catch (ConnectApi.ConnectApiException e) { errors.add(e.getMessage()); }
        try { ConnectApi.ChatterFeeds.postFeedElement(null, 'me', ConnectApi.FeedElementType.FeedItem, 'x'.repeat(10001)); }
        catch (ConnectApi.ConnectApiException e) { errors.add(e.getMessage()); }
        System.debug(String.join(errors, '\\n'));
        System.debug([SELECT COUNT() FROM FeedItem]);
    """))
    out = [line for line in out if not line.startswith("trigger saw")]
    assert out[0] == "On vacation this week. true"
    assert out[1].split("\n") == [
        "Cannot post to 001000000000000AAA: INVALID_CROSS_REFERENCE_KEY: invalid cross reference id",
        "Invalid communityId: 0DB000000000001. The local org has no Experience Cloud sites: use null "
        "(Network.getNetworkId()) or 'internal'",
        "feedElementType Bundle cannot be posted: use ConnectApi.FeedElementType.FeedItem",
        "body is required: a ConnectApi.MessageBodyInput with messageSegments",
        "Mentioned user not found: 005000000000000AAA",
        "The text is 10001 characters long: a feed body holds at most 10000"]
    assert out[2] == "1"


def test_apex_tests_need_see_all_data(runtime: ApexRuntime) -> None:
    runtime.deploy({"PosterTest.cls": """@IsTest private class PosterTest {
        @IsTest static void siloed() {
            ConnectApi.ChatterFeeds.postFeedElement(null, 'me', ConnectApi.FeedElementType.FeedItem, 'hi');
        }
    }""", "PosterSeeAllTest.cls": """@IsTest(SeeAllData=true) private class PosterSeeAllTest {
        @IsTest static void seesAll() {
            ConnectApi.FeedElement fe = ConnectApi.ChatterFeeds.postFeedElement(null, 'me',
                ConnectApi.FeedElementType.FeedItem, 'hi');
            Assert.areEqual('hi', [SELECT Body FROM FeedItem WHERE Id = :fe.id].Body);
        }
    }"""})
    results = {r.method_name: r for r in runtime.run_tests(["PosterTest", "PosterSeeAllTest"])}
    assert results["siloed"].outcome == "Fail"
    assert results["siloed"].message == ("System.UnsupportedOperationException: ConnectApi methods are not supported "
                                         "in data siloed tests. Please use @IsTest(SeeAllData=true).")
    assert results["seesAll"].outcome == "Pass", results["seesAll"].message


@pytest.mark.parametrize("source, message", [
    ("ConnectApi.FeedElementCapabilitiesInput c = null;", "Invalid type: ConnectApi.FeedElementCapabilitiesInput"),
    ("Object o = ConnectApi.ChatterFeeds.getFeedElementsFromFilterFeed(null, 'me', '001');",
     "Method does not exist or incorrect signature: ConnectApi.ChatterFeeds.getFeedElementsFromFilterFeed"),
    ("ConnectApi.ChatterUsers.getFollowers(null, 'me');",
     "Method does not exist or incorrect signature: ConnectApi.ChatterUsers.getFollowers"),
    ("ConnectApi.ChatterGroups.getGroup(null, '0F9000000000001');", "Variable does not exist: ConnectApi.ChatterGroups"),
])
def test_the_rest_of_connect_api_is_refused_at_compile_with_file_and_line(runtime: ApexRuntime, source: str,
                                                                          message: str) -> None:
    with pytest.raises(ApexCompileError) as refused:
        runtime.deploy({"Other.cls": "public class Other {\n    public static void run() {\n        " + source
                        + "\n    }\n}"})
    assert refused.value.file == "Other.cls" and refused.value.line == 3 and message in refused.value.message
