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


def debug(result, triggers: bool = True) -> list[str]:  # noqa: ANN001
    assert result.success, f"{result.exception_type}: {result.exception_message}\n{result.stack_trace}"
    return [m for _, level, m in result.transaction.debug_entries
            if level == "DEBUG" and (triggers or not m.startswith("trigger saw"))]


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
    ("ConnectApi.ChatterFeeds.likeComment(null, '0D7000000000001');",
     "Method does not exist or incorrect signature: ConnectApi.ChatterFeeds.likeComment"),
    ("ConnectApi.Mentions.getMentionCompletions(null, 'a', null);", "Variable does not exist: ConnectApi.Mentions"),
])
def test_the_rest_of_connect_api_is_refused_at_compile_with_file_and_line(runtime: ApexRuntime, source: str,
                                                                          message: str) -> None:
    with pytest.raises(ApexCompileError) as refused:
        runtime.deploy({"Other.cls": "public class Other {\n    public static void run() {\n        " + source
                        + "\n    }\n}"})
    assert refused.value.file == "Other.cls" and refused.value.line == 3 and message in refused.value.message


def test_comments_likes_reads_and_deletes_keep_the_feed_rows_in_step(runtime: ApexRuntime) -> None:
    out = debug(runtime.execute_anonymous("""
        Account a = new Account(Name = 'Acme');
        insert a;
        Integer dml = Limits.getDmlStatements();
        Integer soql = Limits.getQueries();
        ConnectApi.FeedElement fe = ConnectApi.ChatterFeeds.postFeedElement(null, a.Id,
            ConnectApi.FeedElementType.FeedItem, 'Ship it?');
        ConnectApi.Comment first = ConnectApi.ChatterFeeds.postCommentToFeedElement(null, fe.id, 'Yes');
        ConnectApi.CommentInput reply = new ConnectApi.CommentInput();
        reply.body = new ConnectApi.MessageBodyInput();
        reply.body.messageSegments = new List<ConnectApi.MessageSegmentInput>();
        ConnectApi.TextSegmentInput t = new ConnectApi.TextSegmentInput();
        t.text = 'Agreed';
        reply.body.messageSegments.add(t);
        reply.threadParentId = first.id;
        ConnectApi.Comment second = ConnectApi.ChatterFeeds.postCommentToFeedElement(null, fe.id, reply, null);
        ConnectApi.ChatterLike like = ConnectApi.ChatterFeeds.likeFeedElement(null, fe.id);
        ConnectApi.ChatterLike again = ConnectApi.ChatterFeeds.likeFeedElement(null, fe.id);
        System.debug((Limits.getDmlStatements() - dml) + ' DML ' + (Limits.getQueries() - soql) + ' SOQL '
            + (like.id == again.id));
        FeedItem row = [SELECT CommentCount, LikeCount FROM FeedItem WHERE Id = :fe.id];
        System.debug(row.CommentCount + ' ' + row.LikeCount + ' '
            + [SELECT ThreadLevel FROM FeedComment WHERE Id = :second.id].ThreadLevel + ' ' + second.threadLevel);
        ConnectApi.FeedItem got = (ConnectApi.FeedItem) ConnectApi.ChatterFeeds.getFeedElement(null, fe.id);
        System.debug(got.body.text + '|' + got.parent.name + '|' + got.actor.name + '|' + got.type + '|'
            + got.capabilities.comments.page.total + '|' + got.capabilities.comments.page.items[1].body.text + '|'
            + got.capabilities.chatterLikes.isLikedByCurrentUser + '|' + got.capabilities.chatterLikes.page.total);
        ConnectApi.CommentPage page = ConnectApi.ChatterFeeds.getCommentsForFeedElement(null, fe.id, null, 1);
        System.debug(page.total + ' ' + page.items[0].body.text + ' ' + page.nextPageToken + ' '
            + ConnectApi.ChatterFeeds.getCommentsForFeedElement(null, fe.id, page.nextPageToken, 1).items[0].body.text
            + ' ' + page.items[0].user.name + ' ' + (page.items[0].feedElement.id == fe.id));
        ConnectApi.ChatterFeeds.deleteComment(null, first.id);
        ConnectApi.ChatterFeeds.deleteLike(null, like.id);
        System.debug([SELECT CommentCount, LikeCount FROM FeedItem WHERE Id = :fe.id].CommentCount + ' '
            + ConnectApi.ChatterFeeds.getLikesForFeedElement(null, fe.id).total);
        ConnectApi.ChatterFeeds.deleteFeedElement(null, fe.id);
        System.debug([SELECT COUNT() FROM FeedItem] + ' ' + [SELECT COUNT() FROM FeedComment]);
        List<String> errors = new List<String>();
        try { ConnectApi.ChatterFeeds.getFeedElement(null, fe.id); }
        catch (ConnectApi.NotFoundException e) { errors.add(e.getTypeName() + ': ' + e.getMessage()); }
        try { ConnectApi.ChatterFeeds.postCommentToFeedElement(null, fe.id, 'late'); }
        catch (ConnectApi.NotFoundException e) { errors.add(e.getMessage()); }
        try { ConnectApi.ChatterFeeds.getFeedElementsFromFeed(null, ConnectApi.FeedType.Record, a.Id, null, 101, null); }
        catch (ConnectApi.ConnectApiException e) { errors.add(e.getMessage()); }
        System.debug(String.join(errors, ' / '));
    """), triggers=False)
    assert out == ["4 DML 0 SOQL true", "2 1 2 2",
                   "Ship it?|Acme|ECBridge Admin|TextPost|2|Agreed|true|1",
                   "2 Yes 1 Agreed ECBridge Admin true",
                   "1 0", "0 0",
                   "ConnectApi.NotFoundException: Resource not found. / Resource not found. / "
                   "Invalid pageSize: 101. A page holds 1 to 100 items"]


def test_rich_text_mentions_and_entity_links_are_stored_and_read_back(runtime: ApexRuntime) -> None:
    runtime.deploy({"Formatter.cls": """public with sharing class Formatter {
        // '{005...}' mentions a user, <b>/<i> are markup, the rest is text (ConnectApiHelper's syntax)
        public static List<ConnectApi.MessageSegmentInput> segments(String text) {
            List<ConnectApi.MessageSegmentInput> out = new List<ConnectApi.MessageSegmentInput>();
            Matcher m = Pattern.compile('\\\\{(005[a-zA-Z0-9]{12,15})\\\\}|<(/?)([bi])>').matcher(text);
            Integer pos = 0;
            while (m.find()) {
                if (m.start() > pos) { out.add(textInput(text.substring(pos, m.start()))); }
                if (m.group(1) != null) {
                    ConnectApi.MentionSegmentInput mention = new ConnectApi.MentionSegmentInput();
                    mention.id = m.group(1);
                    out.add(mention);
                } else if (m.group(2) == '/') {
                    ConnectApi.MarkupEndSegmentInput e = new ConnectApi.MarkupEndSegmentInput();
                    e.markupType = m.group(3) == 'b' ? ConnectApi.MarkupType.Bold : ConnectApi.MarkupType.Italic;
                    out.add(e);
                } else {
                    ConnectApi.MarkupBeginSegmentInput b = new ConnectApi.MarkupBeginSegmentInput();
                    b.markupType = m.group(3) == 'b' ? ConnectApi.MarkupType.Bold : ConnectApi.MarkupType.Italic;
                    out.add(b);
                }
                pos = m.end();
            }
            if (pos < text.length()) { out.add(textInput(text.substring(pos))); }
            return out;
        }
        static ConnectApi.TextSegmentInput textInput(String text) {
            ConnectApi.TextSegmentInput t = new ConnectApi.TextSegmentInput();
            t.text = text;
            return t;
        }
        public static ConnectApi.FeedElement post(Id subjectId, String text) {
            ConnectApi.FeedItemInput input = new ConnectApi.FeedItemInput();  // no feedElementType: a FeedItem
            input.body = new ConnectApi.MessageBodyInput();
            input.body.messageSegments = segments(text);
            input.subjectId = subjectId;
            return ConnectApi.ChatterFeeds.postFeedElement(null, input);
        }
        public static String describe(ConnectApi.FeedBody body) {
            List<String> kinds = new List<String>();
            for (ConnectApi.MessageSegment s : body.messageSegments) {
                String extra = s instanceof ConnectApi.MentionSegment ? ((ConnectApi.MentionSegment) s).record.id
                    : s instanceof ConnectApi.MarkupBeginSegment ? ((ConnectApi.MarkupBeginSegment) s).htmlTag
                    : s instanceof ConnectApi.EntityLinkSegment ? ((ConnectApi.EntityLinkSegment) s).reference.id
                    : '';
                kinds.add(s.type + ':' + s.text + (extra == '' ? '' : ':' + extra));
            }
            return String.join(kinds, '|');
        }
    }"""})
    out = debug(runtime.execute_anonymous("""
        Account a = new Account(Name = 'Acme & Co');
        insert a;
        Id me = UserInfo.getUserId();
        ConnectApi.FeedElement fe = Formatter.post(a.Id, 'Hi {' + me + '}, <b>ship</b> <i>today</i>');
        System.debug(fe.body.isRichText + ' ' + fe.body.text);
        System.debug([SELECT Body, IsRichText FROM FeedItem WHERE Id = :fe.id].Body);
        System.debug(Formatter.describe(ConnectApi.ChatterFeeds.getFeedElement(null, fe.id).body).replace(me, 'ME'));
        System.debug('To: ' + ConnectApi.ChatterFeeds.getFeedElementsFromFeed(null, ConnectApi.FeedType.To, 'me')
            .elements[0].parent.name);
        ConnectApi.FeedItemInput edit = new ConnectApi.FeedItemInput();
        edit.body = new ConnectApi.MessageBodyInput();
        edit.body.messageSegments = new List<ConnectApi.MessageSegmentInput>();
        ConnectApi.EntityLinkSegmentInput link = new ConnectApi.EntityLinkSegmentInput();
        link.entityId = a.Id;
        edit.body.messageSegments.add(link);
        ConnectApi.HashtagSegmentInput tag = new ConnectApi.HashtagSegmentInput();
        tag.tag = 'launch';
        edit.body.messageSegments.add(tag);
        ConnectApi.FeedElement edited = ConnectApi.ChatterFeeds.updateFeedElement(null, fe.id, edit);
        System.debug(Formatter.describe(edited.body).replace(a.Id, 'ACME') + ' ' + edited.body.isRichText);
        FeedItem dml = new FeedItem(ParentId = a.Id, Body = '<p>Posted by <b>DML</b></p>', IsRichText = true);
        insert dml;
        System.debug(Formatter.describe(ConnectApi.ChatterFeeds.getFeedElement(null, dml.Id).body));
    """), triggers=False)
    assert out == ["true Hi @ECBridge Admin, ship today",
                   "Hi @ECBridge Admin, <b>ship</b> <i>today</i>",
                   "Text:Hi |Mention:@ECBridge Admin:ME|Text:, |MarkupBegin:<b>:b|Text:ship|MarkupEnd:</b>|Text: "
                   "|MarkupBegin:<i>:i|Text:today|MarkupEnd:</i>",
                   "To: Acme & Co",
                   "EntityLink:Acme & Co:ACME|Hashtag:#launch false",
                   "MarkupBegin:<p>:p|Text:Posted by |MarkupBegin:<b>:b|Text:DML|MarkupEnd:</b>|MarkupEnd:</p>"]


def test_feeds_search_batches_and_users_read_the_org(runtime: ApexRuntime) -> None:
    out = debug(runtime.execute_anonymous("""
        Account a = new Account(Name = 'Acme');
        insert a;
        Account b = new Account(Name = 'Other');
        insert b;
        List<ConnectApi.BatchInput> inputs = new List<ConnectApi.BatchInput>();
        for (Integer i = 0; i < 3; i++) {
            ConnectApi.FeedItemInput input = new ConnectApi.FeedItemInput();
            input.subjectId = a.Id;
            input.body = new ConnectApi.MessageBodyInput();
            input.body.messageSegments = new List<ConnectApi.MessageSegmentInput>();
            ConnectApi.TextSegmentInput t = new ConnectApi.TextSegmentInput();
            t.text = 'Acme update ' + i;
            input.body.messageSegments.add(t);
            inputs.add(new ConnectApi.BatchInput(input));
        }
        inputs.add(new ConnectApi.BatchInput(new ConnectApi.FeedItemInput()));
        Integer dml = Limits.getDmlStatements();
        List<ConnectApi.BatchResult> results = ConnectApi.ChatterFeeds.postFeedElementBatch(null, inputs);
        System.debug((Limits.getDmlStatements() - dml) + ' ' + results[0].isSuccess() + ' ' + results[3].isSuccess()
            + ' ' + results[3].getErrorTypeName() + ': ' + results[3].getErrorMessage());
        ConnectApi.ChatterFeeds.postFeedElement(null, b.Id, ConnectApi.FeedElementType.FeedItem, 'Elsewhere');
        ConnectApi.FeedElementPage page = ConnectApi.ChatterFeeds.getFeedElementsFromFeed(null,
            ConnectApi.FeedType.Record, a.Id, null, 2, ConnectApi.FeedSortOrder.CreatedDateDesc);
        List<String> texts = new List<String>();
        for (ConnectApi.FeedElement e : page.elements) { texts.add(e.body.text); }
        ConnectApi.FeedElementPage next = ConnectApi.ChatterFeeds.getFeedElementsFromFeed(null,
            ConnectApi.FeedType.Record, a.Id, page.nextPageToken, 2, ConnectApi.FeedSortOrder.CreatedDateDesc);
        for (ConnectApi.FeedElement e : next.elements) { texts.add(e.body.text); }
        System.debug(String.join(texts, ', ') + ' / ' + next.nextPageToken);
        System.debug(ConnectApi.ChatterFeeds.getFeedElementsFromFeed(null, ConnectApi.FeedType.News, 'me')
            .elements.size() + ' ' + ConnectApi.ChatterFeeds.getFeedElementsFromFeed(null, ConnectApi.FeedType.Company)
            .elements.size() + ' ' + ConnectApi.ChatterFeeds.searchFeedElements(null, 'update 1').elements.size());
        List<ConnectApi.BatchResult> got = ConnectApi.ChatterFeeds.getFeedElementBatch(null,
            new List<String>{ ((ConnectApi.FeedItem) results[0].getResult()).id, a.Id });
        System.debug(got[0].isSuccess() + ' ' + got[1].getErrorTypeName() + ': ' + got[1].getErrorMessage());
        ConnectApi.UserDetail me = ConnectApi.ChatterUsers.getUser(null, 'me');
        System.debug(me.name + ' ' + me.username + ' ' + (me.id == UserInfo.getUserId()) + ' ' + me.userType);
        try { ConnectApi.ChatterFeeds.getFeedElementsFromFeed(null, ConnectApi.FeedType.Bookmarks, 'me'); }
        catch (System.UnexpectedException e) { System.debug(e.getMessage()); }
        System.debug(ConnectApi.ChatterFeeds.getFeedElementsFromFeed(null, ConnectApi.FeedType.Company, null,
            ConnectApi.FeedDensity.AllUpdates, null, 10, null, ConnectApi.FeedFilter.CommunityScoped).elements.size()
            + ' ' + ConnectApi.ChatterFeeds.getFeedElementsFromFeed(null, ConnectApi.FeedType.UserProfile, 'me', 1, 3,
            ConnectApi.FeedDensity.AllUpdates, null, 10, ConnectApi.FeedSortOrder.CreatedDateDesc, false, null)
            .elements.size());
    """), triggers=False)
    assert out == ["1 true false ConnectApi.ConnectApiException: body is required: a ConnectApi.MessageBodyInput "
                   "with messageSegments",
                   "Acme update 2, Acme update 1, Acme update 0 / null",
                   "4 4 1",
                   "true ConnectApi.NotFoundException: Resource not found.",
                   "ECBridge Admin admin@ecbridge.local true Internal",
                   "ConnectApi.FeedType.Bookmarks is not supported by the local org (it reads the Record, "
                   "UserProfile, News, To, Groups and Company feeds)",
                   "4 4"]


def test_apex_tests_use_set_test_doubles_for_feeds_and_search(runtime: ApexRuntime) -> None:
    runtime.deploy({"NewsFeedClass.cls": """public with sharing class NewsFeedClass {
        public static Integer getNewsFeedCount() {
            ConnectApi.FeedElementPage elements = ConnectApi.ChatterFeeds.getFeedElementsFromFeed(null,
                ConnectApi.FeedType.News, 'me');
            return elements.elements.size();
        }
    }""", "NewsFeedClassTest.cls": """@IsTest private class NewsFeedClassTest {
        @IsTest static void registered() {
            ConnectApi.FeedElementPage testPage = new ConnectApi.FeedElementPage();
            List<ConnectApi.FeedItem> testItemList = new List<ConnectApi.FeedItem>();
            testItemList.add(new ConnectApi.FeedItem());
            testItemList.add(new ConnectApi.FeedItem());
            testPage.elements = testItemList;
            ConnectApi.ChatterFeeds.setTestGetFeedElementsFromFeed(null, ConnectApi.FeedType.News, 'me', testPage);
            Test.startTest();
            Assert.areEqual(2, NewsFeedClass.getNewsFeedCount());
            Test.stopTest();
            ConnectApi.FeedElementPage found = new ConnectApi.FeedElementPage();
            found.elements = new List<ConnectApi.FeedElement>();
            ConnectApi.ChatterFeeds.setTestSearchFeedElements(null, 'launch', found);
            Assert.areEqual(found, ConnectApi.ChatterFeeds.searchFeedElements(null, 'launch'));
        }
        @IsTest static void otherArguments() {
            ConnectApi.ChatterFeeds.setTestGetFeedElementsFromFeed(null, ConnectApi.FeedType.Record, 'me',
                new ConnectApi.FeedElementPage());
            NewsFeedClass.getNewsFeedCount();
        }
        @IsTest static void siloedRead() {
            ConnectApi.ChatterFeeds.getFeedElement(null, '0D5000000000001');
        }
    }""", "SeeAllFeedTest.cls": """@IsTest(SeeAllData=true) private class SeeAllFeedTest {
        @IsTest static void feedsStillNeedDoubles() {
            ConnectApi.FeedElement fe = ConnectApi.ChatterFeeds.postFeedElement(null, 'me',
                ConnectApi.FeedElementType.FeedItem, 'hi');
            Assert.areEqual('hi', ConnectApi.ChatterFeeds.getFeedElement(null, fe.id).body.text);
            NewsFeedClass.getNewsFeedCount();
        }
    }"""})
    results = {r.method_name: r for r in runtime.run_tests(["NewsFeedClassTest", "SeeAllFeedTest"])}
    assert results["registered"].outcome == "Pass", results["registered"].message
    unregistered = ("System.UnsupportedOperationException: No test data registered for "
                    "ConnectApi.ChatterFeeds.getFeedElementsFromFeed with these arguments: call "
                    "ConnectApi.ChatterFeeds.setTestGetFeedElementsFromFeed with the same arguments first")
    assert (results["otherArguments"].outcome, results["otherArguments"].message) == ("Fail", unregistered)
    assert results["siloedRead"].message == ("System.UnsupportedOperationException: ConnectApi methods are not "
                                             "supported in data siloed tests. Please use @IsTest(SeeAllData=true).")
    assert (results["feedsStillNeedDoubles"].outcome, results["feedsStillNeedDoubles"].message) == (
        "Fail", unregistered)
    outside = runtime.execute_anonymous("ConnectApi.ChatterFeeds.setTestGetFeedElementsFromFeed(null, "
                                        "ConnectApi.FeedType.News, new ConnectApi.FeedElementPage());")
    assert (outside.exception_type, outside.exception_message) == (
        "System.UnsupportedOperationException",
        "ConnectApi.ChatterFeeds.setTestGetFeedElementsFromFeed can be called only in an Apex test")


def test_follows_are_entity_subscriptions_and_feed_the_news_feed(runtime: ApexRuntime) -> None:
    store = runtime.store
    with store.transaction() as tx:
        [profile] = tx.query("SELECT ProfileId FROM User WHERE Username = 'admin@ecbridge.local'").records
        [other] = tx.insert("User", [{"LastName": "Other", "Alias": "other", "Email": "other@example.com",
                                      "Username": "other@example.com.connect", "ProfileId": profile["ProfileId"],
                                      "TimeZoneSidKey": "GMT", "LocaleSidKey": "en_US", "EmailEncodingKey": "UTF-8",
                                      "LanguageLocaleKey": "en_US"}])
        assert other.success, other.errors
    with store.transaction(user_id=other.id) as tx:  # posts by another user: not in my News feed until I follow
        a, b = (r.id for r in tx.insert("Account", [{"Name": "Acme"}, {"Name": "Quiet"}]))
        tx.insert("FeedItem", [{"ParentId": a, "Body": "Acme news"}, {"ParentId": b, "Body": "Quiet news"}])
    out = debug(runtime.execute_anonymous("""
        Account a = [SELECT Id FROM Account WHERE Name = 'Acme'];
        Account b = [SELECT Id FROM Account WHERE Name = 'Quiet'];
        System.debug(ConnectApi.ChatterFeeds.getFeedElementsFromFeed(null, ConnectApi.FeedType.News, 'me')
            .elements.size());
        Integer dml = Limits.getDmlStatements();
        ConnectApi.Subscription sub = ConnectApi.ChatterUsers.follow(null, 'me', a.Id);
        ConnectApi.Subscription again = ConnectApi.ChatterUsers.follow(null, 'me', a.Id);
        System.debug((Limits.getDmlStatements() - dml) + ' ' + (sub.id == again.id) + ' ' + sub.subject.name + ' '
            + sub.subscriber.name + ' ' + [SELECT COUNT() FROM EntitySubscription WHERE ParentId = :a.Id]);
        List<String> texts = new List<String>();
        for (ConnectApi.FeedElement e : ConnectApi.ChatterFeeds.getFeedElementsFromFeed(null,
                ConnectApi.FeedType.News, 'me').elements) { texts.add(e.body.text); }
        System.debug(String.join(texts, ','));
        ConnectApi.FollowerPage followers = ConnectApi.Chatter.getFollowers(null, a.Id);
        ConnectApi.FollowingPage following = ConnectApi.ChatterUsers.getFollowings(null, 'me', 0, 10);
        System.debug(followers.total + ' ' + followers.followers[0].subscriber.name + ' ' + following.total + ' '
            + following.following[0].subject.name + ' ' + ConnectApi.ChatterUsers.getFollowers(null, 'me').total);
        ConnectApi.Chatter.deleteSubscription(null, sub.id);
        System.debug([SELECT COUNT() FROM EntitySubscription] + ' '
            + ConnectApi.ChatterFeeds.getFeedElementsFromFeed(null, ConnectApi.FeedType.News, 'me').elements.size());
        try { insert new List<EntitySubscription>{ new EntitySubscription(ParentId = b.Id,
                SubscriberId = UserInfo.getUserId()), new EntitySubscription(ParentId = b.Id,
                SubscriberId = UserInfo.getUserId()) }; }
        catch (DmlException e) { System.debug(e.getDmlType(0) + ' ' + e.getDmlMessage(0)); }
    """), triggers=False)
    assert out == ["0", "1 true Acme ECBridge Admin 1", "Acme news", "1 ECBridge Admin 1 Acme 0", "0 0",
                   "DUPLICATE_VALUE duplicate value found: <unknown> duplicates value on record with id: <unknown>"]


def test_chatter_groups_are_collaboration_groups_with_members_and_a_feed(runtime: ApexRuntime) -> None:
    store = runtime.store
    with store.transaction() as tx:
        [profile] = tx.query("SELECT ProfileId FROM User WHERE Username = 'admin@ecbridge.local'").records
        [other] = tx.insert("User", [{"LastName": "Other", "Alias": "other", "Email": "other@example.com",
                                      "Username": "other@example.com.groups", "ProfileId": profile["ProfileId"],
                                      "TimeZoneSidKey": "GMT", "LocaleSidKey": "en_US", "EmailEncodingKey": "UTF-8",
                                      "LanguageLocaleKey": "en_US"}])
    out = debug(runtime.execute_anonymous("""
        Id other = [SELECT Id FROM User WHERE Username = 'other@example.com.groups'].Id;
        ConnectApi.ChatterGroupInput input = new ConnectApi.ChatterGroupInput();
        input.name = 'Launch';
        input.description = 'Launch crew';
        input.visibility = ConnectApi.GroupVisibilityType.PublicAccess;
        Integer dml = Limits.getDmlStatements();
        ConnectApi.ChatterGroupDetail g = ConnectApi.ChatterGroups.createGroup(null, input);
        ConnectApi.GroupMember m = ConnectApi.ChatterGroups.addMemberWithRole(null, g.id, other,
            ConnectApi.GroupMembershipType.GroupManager);
        System.debug((Limits.getDmlStatements() - dml) + ' ' + g.name + ' ' + g.myRole + ' ' + g.visibility + ' '
            + g.memberCount + ' ' + m.role + ' ' + m.user.name);
        ConnectApi.GroupMemberPage members = ConnectApi.ChatterGroups.getMembers(null, g.id);
        System.debug(members.totalMemberCount + ' ' + (members.myMembership != null) + ' '
            + ConnectApi.ChatterGroups.getGroup(null, g.id).memberCount + ' '
            + [SELECT MemberCount FROM CollaborationGroup WHERE Id = :g.id].MemberCount);
        ConnectApi.ChatterFeeds.postFeedElement(null, g.id, ConnectApi.FeedElementType.FeedItem, 'Hello group');
        System.debug(ConnectApi.ChatterFeeds.getFeedElementsFromFeed(null, ConnectApi.FeedType.Groups, 'me')
            .elements[0].parent.name + ' ' + ConnectApi.ChatterFeeds.getFeedElementsFromFeed(null,
            ConnectApi.FeedType.Record, g.id).elements.size() + ' '
            + ConnectApi.ChatterGroups.getGroups(null).total + ' ' + ConnectApi.ChatterUsers.getGroups(null, other).total);
        List<String> errors = new List<String>();
        try { ConnectApi.ChatterGroups.addMember(null, g.id, other); }
        catch (ConnectApi.ConnectApiException e) { errors.add(e.getMessage()); }
        try { ConnectApi.ChatterGroups.createGroup(null, input); }
        catch (ConnectApi.ConnectApiException e) { errors.add(e.getMessage()); }
        try { ConnectApi.ChatterGroups.deleteMember(null, members.myMembership.id); }
        catch (ConnectApi.ConnectApiException e) { errors.add(e.getMessage()); }
        ConnectApi.ChatterGroups.deleteMember(null, m.id);
        System.debug(String.join(errors, ' / ') + ' / ' + ConnectApi.ChatterGroups.getGroup(null, g.id).memberCount);
    """), triggers=False)
    assert out == ["2 Launch GroupOwner PublicAccess 1 GroupManager Other",
                   "2 true 2 2",
                   "Launch 1 1 1",
                   "Cannot add " + other.id + " to Launch: DUPLICATE_VALUE: User is already a Member of this group. / "
                   "Cannot create the group Launch: DUPLICATE_VALUE: duplicate value found: <unknown> duplicates "
                   "value on record with id: <unknown> / The group's owner cannot leave the group: change its owner "
                   "first / 1"]


def test_the_rate_limit_is_a_setting_and_test_start_test_starts_a_new_count(runtime: ApexRuntime,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECBRIDGE_CONNECTAPI_RATE_LIMIT", "2")
    limited = runtime.execute_anonymous("""
        List<String> seen = new List<String>();
        for (Integer i = 0; i < 3; i++) {
            try { seen.add(ConnectApi.ChatterUsers.getUser(null, 'me').name); }
            catch (ConnectApi.RateLimitException e) { seen.add(e.getMessage()); }
        }
        System.debug(String.join(seen, ' / '));
    """)
    assert debug(limited) == ["ECBridge Admin / ECBridge Admin / Rate limit exceeded: more than 2 ConnectApi calls "
                              "this hour by this user (ECBRIDGE_CONNECTAPI_RATE_LIMIT)"]
    runtime.deploy({"RateTest.cls": """@IsTest(SeeAllData=true) private class RateTest {
        @IsTest static void startTestStartsANewCount() {
            ConnectApi.ChatterUsers.getUser(null, 'me');
            ConnectApi.ChatterUsers.getUser(null, 'me');
            Test.startTest();
            ConnectApi.ChatterUsers.getUser(null, 'me');
            ConnectApi.ChatterUsers.getUser(null, 'me');
            Test.stopTest();
            try { ConnectApi.ChatterUsers.getUser(null, 'me'); Assert.fail('limited'); }
            catch (ConnectApi.RateLimitException e) { Assert.isTrue(e.getMessage().startsWith('Rate limit')); }
        }
    }"""})
    [result] = runtime.run_tests(["RateTest"])
    assert result.outcome == "Pass", result.message


def test_output_objects_carry_apex_values_and_print_as_salesforce_does(runtime: ApexRuntime) -> None:
    out = debug(runtime.execute_anonymous("""
        ConnectApi.FeedElement fe = ConnectApi.ChatterFeeds.postFeedElement(null, 'me',
            ConnectApi.FeedElementType.FeedItem, 'hello');
        Datetime created = fe.createdDate;
        System.debug((created <= Datetime.now()) + ' ' + (created.addMinutes(1) > Datetime.now()));
        System.debug(String.valueOf(fe.body.messageSegments[0]));
        ConnectApi.Reference ref = new ConnectApi.Reference();
        ref.id = fe.id;
        System.debug(String.valueOf(ref).replace(fe.id, 'ID'));
    """), triggers=False)
    assert out == ["true true", "ConnectApi.TextSegment[buildVersion=62.0, text=hello, type=Text]",
                   "ConnectApi.Reference[buildVersion=62.0, id=ID, url=null]"]
