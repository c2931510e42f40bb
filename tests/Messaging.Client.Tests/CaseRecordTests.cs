using System.Text;
using Messaging.Client.Cases;
using Messaging.Contracts.Referrals;

namespace Messaging.Client.Tests;

/// <summary>The closed schemas of what travels under a case: only allow-listed fields, validated before encryption.</summary>
public sealed class CaseRecordTests
{
    private const string ValidDraft = """{"nature":"individual","requester":"family","commune":"21012","followUpOngoing":false,"reason":"psychosocial-support","urgency":"priority"}""";

    private static byte[] Draft(string json) => Encoding.UTF8.GetBytes(json);

    private static string WithField(string name, string jsonValue) => ValidDraft[..^1] + $",\"{name}\":{jsonValue}}}";

    [Fact]
    public void AValidDraft_BecomesARecord_UnderTheGivenCaseReference_AndRoundTrips()
    {
        var caseReference = CaseReference.New();
        var record = ReferralRecord.ParseDraft(Draft(ValidDraft), caseReference);

        Assert.Equal(new ReferralRecord(caseReference, RequestNature.Individual, Requester.Family, "21012", false, ReasonCategory.PsychosocialSupport, Urgency.Priority), record);
        Assert.Equal(record, ReferralRecord.Decode(record.Encode()));
        Assert.DoesNotContain("21012", record.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("name", "\"Jean Dupont\"")]
    [InlineData("familyName", "\"Dupont\"")]
    [InlineData("givenNames", "\"Jean\"")]
    [InlineData("firstName", "\"Jean\"")]
    [InlineData("birthDate", "\"2004-05-06\"")]
    [InlineData("dateOfBirth", "\"2004-05-06\"")]
    [InlineData("age", "19")]
    [InlineData("narrative", "\"Il a dit à sa mère que…\"")]
    [InlineData("description", "\"…\"")]
    [InlineData("comment", "\"…\"")]
    [InlineData("notes", "[\"…\"]")]
    [InlineData("address", "\"Rue Haute 1\"")]
    [InlineData("phone", "\"+32 2 000 00 00\"")]
    [InlineData("email", "\"jean@example.be\"")]
    [InlineData("nationalNumber", "\"04050612345\"")]
    [InlineData("school", "\"Athénée\"")]
    [InlineData("caseReference", "\"AAAAAAAAAAAAAAAAAAAAAAAAAA\"")]
    [InlineData("version", "1")]
    [InlineData("Nature", "\"individual\"")]
    [InlineData("extra", "{\"name\":\"Jean\"}")]
    public void EveryFieldOutsideTheAllowList_IsRefused_NamingTheField_NotItsValue(string field, string jsonValue)
    {
        var refused = Assert.Throws<CaseRecordException>(() => ReferralRecord.ParseDraft(Draft(WithField(field, jsonValue)), CaseReference.New()));

        Assert.Equal(field, refused.Field);
        Assert.Contains(field, refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Jean", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Dupont", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("mère", refused.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("nature")]
    [InlineData("requester")]
    [InlineData("commune")]
    [InlineData("followUpOngoing")]
    [InlineData("reason")]
    [InlineData("urgency")]
    public void EveryAllowedField_IsRequired(string field)
    {
        var json = System.Text.Json.Nodes.JsonNode.Parse(ValidDraft)!.AsObject();
        json.Remove(field);

        var refused = Assert.Throws<CaseRecordException>(() => ReferralRecord.ParseDraft(Draft(json.ToJsonString()), CaseReference.New()));
        Assert.Equal(field, refused.Field);
    }

    [Theory]
    [InlineData("nature", "\"group\"")]
    [InlineData("requester", "\"neighbour\"")]
    [InlineData("reason", "\"radicalisation\"")]
    [InlineData("urgency", "\"asap\"")]
    [InlineData("urgency", "3")]
    [InlineData("commune", "\"1000\"")]
    [InlineData("commune", "\"Molenbeek\"")]
    [InlineData("commune", "21012")]
    [InlineData("followUpOngoing", "\"yes\"")]
    public void AValueOutsideItsClosedList_IsRefused(string field, string jsonValue)
    {
        var json = System.Text.Json.Nodes.JsonNode.Parse(ValidDraft)!.AsObject();
        json[field] = System.Text.Json.Nodes.JsonNode.Parse(jsonValue);

        var refused = Assert.Throws<CaseRecordException>(() => ReferralRecord.ParseDraft(Draft(json.ToJsonString()), CaseReference.New()));
        Assert.Equal(field, refused.Field);
    }

    [Theory]
    [InlineData("""{"nature":"individual","nature":"collective","requester":"family","commune":"21012","followUpOngoing":false,"reason":"psychosocial-support","urgency":"priority"}""")]
    [InlineData("""["individual"]""")]
    [InlineData("""{"nature":"individual",""")]
    [InlineData("""{"nature":"individual"} // comment""")]
    [InlineData("")]
    public void ADraftThatIsNotOneFlatObject_IsRefused(string json)
        => Assert.Throws<CaseRecordException>(() => ReferralRecord.ParseDraft(Draft(json), CaseReference.New()));

    [Fact]
    public void ACollectiveRequest_ComesFromAProfessionalOrAnAuthority()
    {
        var caseReference = CaseReference.New();
        var refused = Assert.Throws<CaseRecordException>(() =>
            new ReferralRecord(caseReference, RequestNature.Collective, Requester.Relative, "62063", false, ReasonCategory.ProfessionalSupport, Urgency.Normal).Encode());
        Assert.Equal("requester", refused.Field);

        var record = new ReferralRecord(caseReference, RequestNature.Collective, Requester.Professional, "62063", false, ReasonCategory.ProfessionalSupport, Urgency.Normal);
        Assert.Equal(record, ReferralRecord.Decode(record.Encode()));
    }

    [Fact]
    public void AReceivedRecord_WithAFieldOutsideTheSchema_IsRefusedToo()
    {
        var record = new ReferralRecord(CaseReference.New(), RequestNature.Individual, Requester.Person, "92094", true, ReasonCategory.DisengagementPath, Urgency.Urgent);
        var tampered = Encoding.UTF8.GetString(record.Encode())[..^1] + ",\"name\":\"Jean\"}";

        Assert.Equal("name", Assert.Throws<CaseRecordException>(() => ReferralRecord.Decode(Encoding.UTF8.GetBytes(tampered))).Field);
        Assert.Equal("caseReference", Assert.Throws<CaseRecordException>(() => (record with { CaseReference = "JEAN-DUPONT-2004" }).Encode()).Field);
    }

    [Fact]
    public void AnIdentityShare_RoundTrips_AndRefusesWhatIsNotInItsSchema()
    {
        var identity = new PersonIdentity(CaseReference.New(), "Dupont", "Jean Marie", new DateOnly(2004, 5, 6), "+32 470 00 00 00", "jean@example.be", "Rue Haute 1, 1000 Bruxelles");
        Assert.Equal(identity, PersonIdentity.Decode(identity.Encode()));
        Assert.DoesNotContain("Dupont", identity.ToString(), StringComparison.Ordinal);

        Assert.Equal("familyName", Assert.Throws<CaseRecordException>(() => (identity with { FamilyName = " " }).Encode()).Field);
        Assert.Equal("phone", Assert.Throws<CaseRecordException>(() => (identity with { Phone = "call me" }).Encode()).Field);
        Assert.Equal("email", Assert.Throws<CaseRecordException>(() => (identity with { Email = "jean.example.be" }).Encode()).Field);
        var withNarrative = Encoding.UTF8.GetString(identity.Encode())[..^1] + ",\"situation\":\"…\"}";
        Assert.Equal("situation", Assert.Throws<CaseRecordException>(() => PersonIdentity.Decode(Encoding.UTF8.GetBytes(withNarrative))).Field);
    }

    [Fact]
    public void AnAnswer_NamesADeclineReason_OnlyWhenItDeclines()
    {
        var caseReference = CaseReference.New();
        var decline = new ReferralAnswer(caseReference, ReferralResponse.Decline, ReferralDeclineReason.NoCapacity);
        Assert.Equal(decline, ReferralAnswer.Decode(decline.Encode()));
        Assert.Equal("declineReason", Assert.Throws<CaseRecordException>(() => new ReferralAnswer(caseReference, ReferralResponse.Decline, null).Encode()).Field);
        Assert.Equal("declineReason", Assert.Throws<CaseRecordException>(() => new ReferralAnswer(caseReference, ReferralResponse.Accept, ReferralDeclineReason.Other).Encode()).Field);
    }

    private static CaseAttachment Reference(string fileName = "bilan.pdf", string mediaType = "application/pdf")
        => new(new string('x', 43), new byte[32], new byte[32], 1_234_567, fileName, mediaType);

    [Fact]
    public void ACaseNote_RoundTripsWithAttachmentReferences_WithinItsBounds()
    {
        var attachment = Reference() with { Key = [.. Enumerable.Range(1, 32).Select(i => (byte)i)], Sha256 = [.. Enumerable.Range(100, 32).Select(i => (byte)i)] };
        var note = new CaseNote(CaseReference.New(), Guid.NewGuid(), "Synthèse de l'entretien.", [attachment]);
        var decoded = CaseNote.Decode(note.Encode());
        Assert.Equal((note.CaseReference, note.ConsentId, note.Text), (decoded.CaseReference, decoded.ConsentId, decoded.Text));
        var read = Assert.Single(decoded.Attachments);
        Assert.Equal((attachment.AttachmentId, attachment.Size, attachment.FileName, attachment.MediaType), (read.AttachmentId, read.Size, read.FileName, read.MediaType));
        Assert.Equal(attachment.Key, read.Key);
        Assert.Equal(attachment.Sha256, read.Sha256);

        Assert.Equal("consentId", Assert.Throws<CaseRecordException>(() => (note with { ConsentId = Guid.Empty }).Encode()).Field);
        Assert.Equal("text", Assert.Throws<CaseRecordException>(() => (note with { Text = "", Attachments = [] }).Encode()).Field);
        Assert.Equal("attachments", Assert.Throws<CaseRecordException>(() => (note with { Attachments = [.. Enumerable.Repeat(attachment, CaseNote.MaxAttachments + 1)] }).Encode()).Field);
        Assert.Equal("size", Assert.Throws<CaseRecordException>(() => (note with { Attachments = [attachment with { Size = Attachments.AttachmentFile.MaxBytes + 1 }] }).Encode()).Field);
        Assert.Equal("key", Assert.Throws<CaseRecordException>(() => (note with { Attachments = [attachment with { Key = new byte[31] }] }).Encode()).Field);
        Assert.Equal("sha256", Assert.Throws<CaseRecordException>(() => (note with { Attachments = [attachment with { Sha256 = new byte[33] }] }).Encode()).Field);
        Assert.Equal("attachmentId", Assert.Throws<CaseRecordException>(() => (note with { Attachments = [attachment with { AttachmentId = "../../etc/passwd" }] }).Encode()).Field);
        Assert.Equal("fileName", Assert.Throws<CaseRecordException>(() => (note with { Attachments = [Reference("../etc/passwd")] }).Encode()).Field);
        Assert.Equal("fileName", Assert.Throws<CaseRecordException>(() => (note with { Attachments = [Reference("facture\u202Efdp.exe")] }).Encode()).Field);
        Assert.Equal("mediaType", Assert.Throws<CaseRecordException>(() => (note with { Attachments = [Reference(mediaType: "pdf")] }).Encode()).Field);
    }

    [Fact]
    public void AReceivedCaseNote_WithAFieldOutsideTheAllowList_OrAnInlineFile_OrVersionOne_IsRefused()
    {
        var note = new CaseNote(CaseReference.New(), Guid.NewGuid(), "Synthèse.", [Reference()]);
        var json = Encoding.UTF8.GetString(note.Encode());

        var extraInAttachment = json.Replace("\"mediaType\":", "\"content\":\"AAAA\",\"mediaType\":", StringComparison.Ordinal);
        Assert.Equal("content", Assert.Throws<CaseRecordException>(() => CaseNote.Decode(Encoding.UTF8.GetBytes(extraInAttachment))).Field);
        var extraInNote = json.Replace("\"text\":", "\"familyName\":\"Dupont\",\"text\":", StringComparison.Ordinal);
        Assert.Equal("familyName", Assert.Throws<CaseRecordException>(() => CaseNote.Decode(Encoding.UTF8.GetBytes(extraInNote))).Field);
        var missingKey = json.Replace("\"key\":", "\"kee\":", StringComparison.Ordinal);
        Assert.Equal("kee", Assert.Throws<CaseRecordException>(() => CaseNote.Decode(Encoding.UTF8.GetBytes(missingKey))).Field);
        var versionOne = json.Replace("\"version\":2", "\"version\":1", StringComparison.Ordinal);
        Assert.Equal("version", Assert.Throws<CaseRecordException>(() => CaseNote.Decode(Encoding.UTF8.GetBytes(versionOne))).Field);
    }

    [Fact]
    public void TheWireForm_IsByteForByteTheOneStoredAndInFlightRecordsUse()
    {
        var caseReference = CaseReference.Encode(new byte[16]);
        var consentId = Guid.Parse("0f8fad5b-d9cb-469f-a165-70867728950e");

        Assert.Equal(
            $$"""{"version":1,"caseReference":"{{caseReference}}","nature":"collective","requester":"authority","commune":"21012","followUpOngoing":true,"reason":"professional-support","urgency":"urgent"}""",
            Encoding.UTF8.GetString(new ReferralRecord(caseReference, RequestNature.Collective, Requester.Authority, "21012", true, ReasonCategory.ProfessionalSupport, Urgency.Urgent).Encode()));
        Assert.Equal(
            $$"""{"version":1,"caseReference":"{{caseReference}}","familyName":"Dupont-Lefèvre","givenNames":"Jean \"Jo\"","birthDate":"2004-05-06","email":"jean@example.be"}""",
            Encoding.UTF8.GetString(new PersonIdentity(caseReference, "Dupont-Lefèvre", "Jean \"Jo\"", new DateOnly(2004, 5, 6), Email: "jean@example.be").Encode()));
        Assert.Equal(
            $$"""{"version":1,"caseReference":"{{caseReference}}","familyName":"Dupont","givenNames":"Jean"}""",
            Encoding.UTF8.GetString(new PersonIdentity(caseReference, "Dupont", "Jean").Encode()));
        Assert.Equal(
            $$"""{"version":1,"caseReference":"{{caseReference}}","response":"decline","declineReason":"better-served-elsewhere"}""",
            Encoding.UTF8.GetString(new ReferralAnswer(caseReference, ReferralResponse.Decline, ReferralDeclineReason.BetterServedElsewhere).Encode()));
        Assert.Equal(
            $$"""{"version":1,"caseReference":"{{caseReference}}","response":"propose-tripartite"}""",
            Encoding.UTF8.GetString(new ReferralAnswer(caseReference, ReferralResponse.ProposeTripartite, null).Encode()));
        Assert.Equal(
            $$"""{"version":2,"caseReference":"{{caseReference}}","consentId":"0f8fad5b-d9cb-469f-a165-70867728950e","text":"","attachments":[{"attachmentId":"{{new string('x', 43)}}","key":"AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=","sha256":"ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CBgoM=","size":1234567,"fileName":"bilan d’été & co.pdf","mediaType":"application/pdf"}]}""",
            Encoding.UTF8.GetString(new CaseNote(caseReference, consentId, "",
                [Reference("bilan d’été & co.pdf") with { Key = [.. Enumerable.Range(1, 32).Select(i => (byte)i)], Sha256 = [.. Enumerable.Range(100, 32).Select(i => (byte)i)] }]).Encode()));
        Assert.Equal(
            $$"""{"version":2,"caseReference":"{{caseReference}}","consentId":"0f8fad5b-d9cb-469f-a165-70867728950e","text":"Synthèse\n","attachments":[]}""",
            Encoding.UTF8.GetString(new CaseNote(caseReference, consentId, "Synthèse\n", []).Encode()));
    }

    [Fact]
    public void TheLargestCaseNote_FitsInOneEnvelope()
    {
        var longest = new string('é', Attachments.AttachmentNames.MaxFileNameLength - 4) + ".pdf";
        var note = new CaseNote(CaseReference.New(), Guid.NewGuid(), new string('é', CaseNote.MaxTextLength),
            [.. Enumerable.Repeat(Reference(longest, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"), CaseNote.MaxAttachments)]);
        var frame = PlaintextFrame.Wrap(note.Encode());

        // The ciphertext adds a ratchet header and prekey fields (under 300 bytes) to the frame; the server's limit is 64 KiB.
        Assert.True(frame.Length + 300 <= 64 * 1024, $"frame of {frame.Length} bytes");
    }
}
