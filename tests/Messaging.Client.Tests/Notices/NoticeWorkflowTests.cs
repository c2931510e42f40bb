using System.Text;
using Messaging.Client.Cases;
using Messaging.Client.Notices;
using Messaging.Client.Tests.Infrastructure;
using Messaging.Contracts;
using Messaging.Contracts.Referrals;
using Messaging.Crypto.Attestations;
using Messaging.Crypto.Keys;
using Messaging.Crypto.SafetyNumbers;

namespace Messaging.Client.Tests.Notices;

/// <summary>Attendance notices (protocol 7.C) end to end against the real server process: from the worker's SDK call
/// to the assistant's verified view, the certificate checked offline, and nothing of the case anywhere on the server.</summary>
public sealed class NoticeWorkflowTests
{
    private sealed record World(Platform Platform, Guid Service, Guid JusticeHouse, MessagingClient ServiceAdmin, MessagingClient Aline,
        MessagingClient Assistant, MessagingClient AssistantPhone, string CaseReference) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => Platform.DisposeAsync();
    }

    private static async Task<World> SetUpAsync(bool postgres = false)
    {
        var platform = await Platform.StartAsync(postgres);
        var (service, admin) = await platform.CreateOrganisationAsync("Service de prévention de Molenbeek");
        var aline = await platform.EnrolDeviceAsync(admin, await platform.CreateMemberAsync(admin, "Aline"));
        var token = await platform.Operator.GetAccessTokenAsync();
        var house = await platform.Operator.Api.CreateOrganisationAsync(token, new CreateOrganisationRequest("Maison de justice de Bruxelles", OrganisationTypes.JusticeHouse));
        var houseAdmin = await platform.Operator.Api.CreateMemberAsync(token, new CreateMemberRequest(house.OrganisationId, "Admin MJ", Roles.OrganisationAdmin, $"admin@{Guid.NewGuid():N}.example"));
        var houseAdminDevice = await platform.EnrolDeviceAsync(platform.Operator, houseAdmin.MemberId);
        var assistantId = await platform.CreateMemberAsync(houseAdminDevice, "Assistante Justine", Roles.JusticeAssistant);
        var assistant = await platform.EnrolDeviceAsync(houseAdminDevice, assistantId);
        var assistantPhone = await platform.EnrolDeviceAsync(houseAdminDevice, assistantId);
        var caseReference = CaseReference.New();
        var mandate = await aline.ProposeMandateAsync(caseReference, assistantId);
        Assert.Equal(MandateStatus.Accepted, (await assistant.AcceptMandateAsync(mandate.MandateId)).Status);
        return new World(platform, service, house.OrganisationId, admin, aline, assistant, assistantPhone, caseReference);
    }

    private static async Task<IReadOnlyList<ReceivedNotice>> NoticesWhenAsync(MessagingClient device, int count)
    {
        await device.InboxWhenAsync(i => i.Count(m => m.Kind == EnvelopeKind.AttendanceNotice) >= count);
        return await device.GetNoticesAsync();
    }

    [Fact]
    public async Task EveryKind_IssuedFromTheWorkersSdk_ReachesEveryDeviceOfTheAssistant_VerifiedAndNamingItsIssuer()
    {
        await using var w = await SetUpAsync();
        var interviews = await InterviewMaker.CreateAsync(w);
        var interview = await interviews.StartedAsync(w.CaseReference);
        var issued = new List<NoticeIssued>
        {
            await w.Aline.IssueNoticeAsync(w.CaseReference, AttendanceNoticeKind.Present, interviewId: interview.InterviewId),
            await w.Aline.IssueNoticeAsync(w.CaseReference, AttendanceNoticeKind.JustifiedAbsence, AbsenceJustification.Transport, date: new DateOnly(2031, 3, 4)),
            await w.Aline.RecordNoShowAsync(w.CaseReference, interview.InterviewId),
            await w.Aline.IssueNoticeAsync(w.CaseReference, AttendanceNoticeKind.UnilateralEnd, date: new DateOnly(2031, 3, 5)),
            await w.Aline.IssueNoticeAsync(w.CaseReference, AttendanceNoticeKind.RiskToPerson, interviewId: interview.InterviewId),
            await w.Aline.IssueNoticeAsync(w.CaseReference, AttendanceNoticeKind.RiskToThirdParties, date: new DateOnly(2031, 3, 6)),
        };

        foreach (var device in new[] { w.Assistant, w.AssistantPhone })
        {
            var received = await NoticesWhenAsync(device, issued.Count);
            Assert.Equal(issued.Select(i => i.Notice).OrderBy(n => n.NoticeId), received.Select(r => r.Notice!).OrderBy(n => n.NoticeId));
            Assert.All(received, r =>
            {
                Assert.Equal(NoticeVerification.Verified, r.Verification);
                Assert.Equal("Aline", r.IssuerName);
                Assert.Equal("Service de prévention de Molenbeek", r.ServiceName);
                Assert.Equal(w.Aline.DeviceId, r.Notice!.IssuerDeviceId);
            });
        }

        Assert.Equal(AbsenceJustification.Transport, issued[1].Notice.Justification);
    }

    [Fact]
    public async Task ANoticeWithoutAnAcceptedMandate_IsNotSent()
    {
        await using var w = await SetUpAsync();

        await Assert.ThrowsAsync<MandateNotFoundException>(() => w.Aline.IssueNoticeAsync(CaseReference.New(), AttendanceNoticeKind.Present, date: new DateOnly(2031, 3, 4)));
        await Assert.ThrowsAsync<ArgumentException>(() => w.Aline.IssueNoticeAsync(w.CaseReference, AttendanceNoticeKind.JustifiedAbsence, date: new DateOnly(2031, 3, 4)));
        var mandate = Assert.Single(await w.Aline.ListMandatesAsync());
        await w.Assistant.EndMandateAsync(mandate.MandateId);
        await Assert.ThrowsAsync<MandateNotFoundException>(() => w.Aline.IssueNoticeAsync(w.CaseReference, AttendanceNoticeKind.Present, date: new DateOnly(2031, 3, 4)));
    }

    [Fact]
    public async Task ACertificate_IsValidOnlyAgainstAVerifiedKeyLog_AndAnyOneByteChange_OrARevokedSigner_IsReported()
    {
        await using var w = await SetUpAsync();
        var phoneStore = await w.Platform.ReleaseAsync(w.AssistantPhone);
        var noStore = Path.Combine(Path.GetTempPath(), $"no-store-{Guid.NewGuid():N}.mks");
        var issued = await w.Aline.IssueNoticeAsync(w.CaseReference, AttendanceNoticeKind.NoShow, date: new DateOnly(2031, 3, 3));
        await NoticesWhenAsync(w.Assistant, 1);
        var html = await w.Assistant.CreateAttendanceCertificateAsync(issued.Notice.NoticeId);
        var fingerprint = SafetyNumber.IdentityFingerprint(w.Aline.MemberId.ToString("D"), SignedAttestation.Parse(issued.SignedNotice).Signer);
        var (_, safetyNumber) = Assert.Single(await w.Assistant.GetSafetyNumbersAsync(w.Aline.MemberId));
        Assert.Contains(fingerprint, safetyNumber, StringComparison.Ordinal);

        // Against the assistant's verified key log: valid. With the file alone: consistent, never valid.
        var check = await w.Assistant.VerifyAttendanceCertificateAsync(html);
        Assert.Equal(CertificateStatus.Valid, check.Status);
        Assert.Equal(issued.Notice, check.Notice);
        Assert.Equal(fingerprint, check.SignerFingerprint);
        var anonymous = AttendanceCertificate.Verify(html);
        Assert.Equal(CertificateStatus.NotAuthenticated, anonymous.Status);
        Assert.Equal(fingerprint, anonymous.SignerFingerprint);
        Assert.Contains(AttendanceCertificate.VerificationCode(issued.SignedNotice), html, StringComparison.Ordinal);
        Assert.Contains("@media print", html, StringComparison.Ordinal);

        // One byte changed anywhere: in the visible text, the style, the embedded notice or the key-log entry.
        var bytes = Encoding.UTF8.GetBytes(html);
        for (var i = 0; i < bytes.Length; i += 7)
        {
            var altered = (byte[])bytes.Clone();
            altered[i] = altered[i] == (byte)'A' ? (byte)'B' : (byte)'A';
            Assert.Equal(CertificateStatus.Altered, AttendanceCertificate.Verify(Encoding.UTF8.GetString(altered)).Status);
        }

        // A signature that does not verify under the logged key, rendered as a certificate: altered on both paths.
        var badSignature = (byte[])issued.SignedNotice.Clone();
        badSignature[1 + IdentityPublicKey.EncodedLength] ^= 1;
        var unsigned = AttendanceCertificate.Render(new CertificateData(badSignature, [], "Aline", "Service"));
        Assert.Equal(CertificateStatus.Altered, (await w.Assistant.VerifyAttendanceCertificateAsync(unsigned)).Status);
        Assert.Equal(CertificateStatus.Altered, AttendanceCertificate.Verify(unsigned).Status);

        // The embedded entries are only hints: without them the key log still vouches, and the file alone still does not.
        var bare = AttendanceCertificate.Render(new CertificateData(issued.SignedNotice, [], "Aline", "Service"));
        Assert.Equal(CertificateStatus.Valid, (await w.Assistant.VerifyAttendanceCertificateAsync(bare)).Status);
        Assert.Equal(CertificateStatus.NotAuthenticated, AttendanceCertificate.Verify(bare).Status);

        // Through the CLI: with a key store, against its key log; with none, the file alone (never exit 0).
        var file = Path.Combine(Path.GetTempPath(), $"certificate-{Guid.NewGuid():N}.html");
        await File.WriteAllTextAsync(file, html);
        var anchoredRun = await CliRunner.RunAsync(phoneStore, "verify-certificate", file);
        Assert.Equal(0, anchoredRun.ExitCode);
        Assert.StartsWith("VALID", anchoredRun.Output, StringComparison.Ordinal);
        Assert.Contains(fingerprint, anchoredRun.Output, StringComparison.Ordinal);
        var (exitCode, output, _) = await CliRunner.RunAsync(noStore, "verify-certificate", file);
        Assert.Equal(1, exitCode);
        Assert.StartsWith("NOT AUTHENTICATED", output, StringComparison.Ordinal);
        Assert.Contains($"signing key fingerprint {fingerprint}", output, StringComparison.Ordinal);
        await File.WriteAllTextAsync(file, html.Replace("no-show", "present", StringComparison.Ordinal));
        Assert.StartsWith("ALTERED", (await CliRunner.RunAsync(phoneStore, "verify-certificate", file)).Output, StringComparison.Ordinal);
        Assert.Equal(1, (await CliRunner.RunAsync(noStore, "verify-certificate", file)).ExitCode);

        // The signing device is revoked. The certificate made before, which carries no revocation entry, is reported
        // revoked against the key log; a new certificate carries the entry, and even the file alone then says revoked.
        await w.ServiceAdmin.Api.RevokeDeviceAsync(await w.ServiceAdmin.GetAccessTokenAsync(), w.Aline.DeviceId);
        Assert.Equal(CertificateStatus.SignerRevoked, (await w.Assistant.VerifyAttendanceCertificateAsync(html)).Status);
        Assert.Equal(NoticeVerification.SignerRevoked, Assert.Single(await w.Assistant.GetNoticesAsync()).Verification);
        await File.WriteAllTextAsync(file, html);
        var omittedRun = await CliRunner.RunAsync(phoneStore, "verify-certificate", file);
        Assert.Equal(1, omittedRun.ExitCode);
        Assert.StartsWith("SIGNER REVOKED", omittedRun.Output, StringComparison.Ordinal);
        Assert.Equal(CertificateStatus.NotAuthenticated, AttendanceCertificate.Verify(html).Status);
        var revoked = await w.Assistant.CreateAttendanceCertificateAsync(issued.Notice.NoticeId);
        Assert.Equal(CertificateStatus.SignerRevoked, AttendanceCertificate.Verify(revoked).Status);
        await File.WriteAllTextAsync(file, revoked);
        var revokedRun = await CliRunner.RunAsync(noStore, "verify-certificate", file);
        Assert.Equal(1, revokedRun.ExitCode);
        Assert.StartsWith("SIGNER REVOKED", revokedRun.Output, StringComparison.Ordinal);
        File.Delete(file);
    }

    [Fact]
    public async Task AForgedCertificate_SignedWithItsOwnKeyAndASelfHashedKeyLogEntry_IsNeverValid()
    {
        await using var w = await SetUpAsync();
        var phoneStore = await w.Platform.ReleaseAsync(w.AssistantPhone);
        var noStore = Path.Combine(Path.GetTempPath(), $"no-store-{Guid.NewGuid():N}.mks");
        using var forger = IdentityKeyPair.Generate();
        var at = new DateTimeOffset(2031, 3, 4, 9, 30, 0, TimeSpan.Zero);
        var file = Path.Combine(Path.GetTempPath(), $"forged-{Guid.NewGuid():N}.html");

        // Claiming Aline's real device, then a device of its own: public SDK calls only.
        foreach (var device in new[] { w.Aline.DeviceId, Guid.NewGuid() })
        {
            var signed = AttendanceNotice.Create(Guid.NewGuid(), AttendanceNoticeKind.Present, null, Guid.NewGuid(), null, w.CaseReference, w.Service,
                w.Aline.MemberId, device, at, w.Assistant.MemberId).Sign(forger).ToBytes();
            var key = forger.PublicKey.ToBytes();
            var entry = new KeyLogEntry(0, at, KeyLogAction.Added, device, w.Aline.MemberId, key, KeyLogHash.Genesis(),
                KeyLogHash.Compute(0, at, KeyLogAction.Added, device, w.Aline.MemberId, key, KeyLogHash.Genesis()));
            var forged = AttendanceCertificate.Render(new CertificateData(signed, [entry], "Any Worker", "CAPREV Bruxelles"));
            var forgerFingerprint = SafetyNumber.IdentityFingerprint(w.Aline.MemberId.ToString("D"), forger.PublicKey);

            var anonymous = AttendanceCertificate.Verify(forged);
            Assert.Equal(CertificateStatus.NotAuthenticated, anonymous.Status);
            Assert.Equal(forgerFingerprint, anonymous.SignerFingerprint);
            var anchored = await w.Assistant.VerifyAttendanceCertificateAsync(forged);
            Assert.Equal(CertificateStatus.SignerUnknown, anchored.Status);
            Assert.Equal(forgerFingerprint, anchored.SignerFingerprint);

            await File.WriteAllTextAsync(file, forged);
            var anchoredRun = await CliRunner.RunAsync(phoneStore, "verify-certificate", file);
            Assert.Equal(1, anchoredRun.ExitCode);
            Assert.StartsWith("SIGNER UNKNOWN", anchoredRun.Output, StringComparison.Ordinal);
            var anonymousRun = await CliRunner.RunAsync(noStore, "verify-certificate", file);
            Assert.Equal(1, anonymousRun.ExitCode);
            Assert.StartsWith("NOT AUTHENTICATED", anonymousRun.Output, StringComparison.Ordinal);
            Assert.Contains(forgerFingerprint, anonymousRun.Output, StringComparison.Ordinal);
        }

        File.Delete(file);
    }

    [Fact]
    public async Task AHostRecordingANoShow_OnAnInterviewUnderMandate_SendsExactlyOneVerifiedNotice_EvenWhenRetried()
    {
        await using var w = await SetUpAsync();
        var interviews = await InterviewMaker.CreateAsync(w);
        var underMandate = await interviews.StartedAsync(w.CaseReference);
        var withoutMandate = await interviews.StartedAsync(CaseReference.New());

        var outcome = await w.Aline.RecordInterviewOutcomeAsync(underMandate.InterviewId, held: true, PersonAttendance.NoShow);
        Assert.Equal(InterviewState.Held, outcome.Interview.State);
        Assert.Equal(PersonAttendance.NoShow, outcome.Interview.Attendance);
        var notice = Assert.IsType<NoticeIssued>(outcome.Notice);
        Assert.Equal((AttendanceNoticeKind.NoShow, underMandate.InterviewId, w.CaseReference), (notice.Notice.Kind, notice.Notice.InterviewId, notice.Notice.CaseReference));

        // A retry (the first call's answer lost, say) completes nothing twice.
        var retried = await w.Aline.RecordInterviewOutcomeAsync(underMandate.InterviewId, held: true, PersonAttendance.NoShow);
        Assert.Null(retried.Notice);
        Assert.True(retried.NoticeAlreadySent);
        // Another outcome is refused as a state conflict, not retried into a second notice.
        await Assert.ThrowsAsync<StateConflictException>(() => w.Aline.RecordInterviewOutcomeAsync(underMandate.InterviewId, held: true, PersonAttendance.Present));

        // No mandate on the other case: the outcome is recorded, and no notice goes anywhere.
        var unmandated = await w.Aline.RecordInterviewOutcomeAsync(withoutMandate.InterviewId, held: true, PersonAttendance.NoShow);
        Assert.Equal((InterviewState.Held, (NoticeIssued?)null, false), (unmandated.Interview.State, unmandated.Notice, unmandated.NoticeAlreadySent));

        // A later notice as a marker: once it arrived, the assistant holds exactly one no-show, verified, for that interview.
        await w.Aline.IssueNoticeAsync(w.CaseReference, AttendanceNoticeKind.Present, date: new DateOnly(2031, 3, 4));
        var received = await NoticesWhenAsync(w.Assistant, 2);
        var noShow = Assert.Single(received, r => r.Notice!.Kind == AttendanceNoticeKind.NoShow);
        Assert.Equal(NoticeVerification.Verified, noShow.Verification);
        Assert.Equal(notice.Notice, noShow.Notice);
        Assert.Equal(2, received.Count);
    }

    /// <summary>Interviews Aline organises with Bruno, of a second service that accepts her referral on each case: a
    /// notice may name only an interview of the sender's service, under the notice's case, that has started.</summary>
    private sealed class InterviewMaker(World w, Guid serviceY, MessagingClient bruno)
    {
        private int _referrals;

        public static async Task<InterviewMaker> CreateAsync(World w)
        {
            var (serviceY, adminY) = await w.Platform.CreateOrganisationAsync("AMO Liège");
            return new InterviewMaker(w, serviceY, await w.Platform.EnrolDeviceAsync(adminY, await w.Platform.CreateMemberAsync(adminY, "Bruno")));
        }

        /// <summary>Refers the case to Bruno's service, which accepts; proposes an interview two seconds ahead and waits
        /// until it has started.</summary>
        public async Task<InterviewEntry> StartedAsync(string caseReference)
        {
            await w.Aline.ReferAsync(serviceY, new ReferralRecord(caseReference, RequestNature.Individual, Requester.Family, "21012", false,
                ReasonCategory.PsychosocialSupport, Urgency.Normal));
            var expected = ++_referrals;
            await bruno.InboxWhenAsync(i => i.Count(m => m.Kind == EnvelopeKind.Referral) >= expected);
            await bruno.RespondToReferralAsync(caseReference, ReferralResponse.Accept);
            var interview = await w.Aline.Interviews.InviteAsync(new ProposeInterviewRequest(Guid.NewGuid(), caseReference, [bruno.MemberId],
                IncludesPerson: true, TimeProvider.System.GetUtcNow().AddSeconds(2), 30, Address: "Rue de la Loi 16, 1000 Bruxelles"));
            while (TimeProvider.System.GetUtcNow() < interview.Start.AddMilliseconds(300))
            {
                await Task.Delay(100);
            }

            return interview;
        }
    }

    /// <summary>On SQLite the job storage lives in the server process's memory (Hangfire in-memory; the server's own
    /// canary tests read it there); on PostgreSQL it is the <c>hangfire</c> schema of the same database, dumped here with
    /// every messaging table.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task PlantedCaseTextAndAPersonName_AppearInNoNoticeEmailLogJobStorageOrDatabase(bool postgres)
    {
        await using var w = await SetUpAsync(postgres);
        var marker = Guid.NewGuid().ToString("N")[..10];
        var person = $"Jean-Baptiste Canari{marker}";
        var caseText = $"a manqué l'entretien car hospitalisé {marker}";
        var conversation = await w.Aline.CreateConversationAsync([w.Assistant.MemberId]);
        await w.Aline.SendTextAsync(conversation.ConversationId, $"{person}: {caseText}");
        var issued = new List<NoticeIssued>();
        foreach (var kind in Enum.GetValues<AttendanceNoticeKind>())
        {
            issued.Add(await w.Aline.IssueNoticeAsync(w.CaseReference, kind, kind == AttendanceNoticeKind.JustifiedAbsence ? AbsenceJustification.Illness : null,
                date: new DateOnly(2031, 3, 4)));
        }

        var received = await NoticesWhenAsync(w.Assistant, issued.Count);
        var pickup = Path.Combine(w.Platform.Server.DataDirectory, "notices", "pickup");
        var started = System.Diagnostics.Stopwatch.StartNew();
        while ((!Directory.Exists(pickup) || Directory.GetFiles(pickup, "*.eml").Length < issued.Count) && started.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(100);
        }

        var emails = Directory.GetFiles(pickup, "*.eml");
        Assert.Equal(issued.Count, emails.Length);
        var places = new List<(string Name, byte[] Bytes)>();
        places.AddRange(received.Select(r => ("notice", r.SignedNotice)));
        places.AddRange(emails.Select(f => (f, File.ReadAllBytes(f))));
        places.Add(("server log", Encoding.UTF8.GetBytes(w.Platform.Server.Logs)));
        foreach (var file in Directory.GetFiles(w.Platform.Server.DataDirectory, "*", SearchOption.AllDirectories))
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var copy = new MemoryStream();
            await stream.CopyToAsync(copy);
            places.Add((file, copy.ToArray()));
        }

        if (w.Platform.PostgresDatabase is { } database)
        {
            var dump = await TestPostgres.DumpAsync(database);
            Assert.Contains("CREATE TABLE hangfire.job", dump, StringComparison.Ordinal);
            Assert.Contains("COPY public.notices", dump, StringComparison.Ordinal);
            Assert.Contains(NoticeEmailJobType, dump, StringComparison.Ordinal);
            places.Add(("database and job storage dump", Encoding.UTF8.GetBytes(dump)));
        }

        foreach (var (name, bytes) in places)
        {
            foreach (var planted in new[] { marker, person, caseText })
            {
                Assert.False(bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(planted)) >= 0, $"'{planted}' found in {name}");
                Assert.False(bytes.AsSpan().IndexOf(Encoding.Unicode.GetBytes(planted)) >= 0, $"'{planted}' (UTF-16) found in {name}");
            }
        }

        Assert.All(emails, f => Assert.DoesNotContain(w.CaseReference, File.ReadAllText(f), StringComparison.Ordinal));
    }

    /// <summary>How Hangfire names the content-free email job in its storage (the dump must show the jobs were there).</summary>
    private const string NoticeEmailJobType = "NoticeEmailJob";
}
