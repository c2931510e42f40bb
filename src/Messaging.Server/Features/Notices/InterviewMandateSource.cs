using Messaging.Server.Features.Interviews;
using Messaging.Server.Persistence;

namespace Messaging.Server.Features.Notices;

/// <summary>
/// The outcome chase's view of the Interviews feature: its read API (<see cref="InterviewQueries"/>) for interviews that
/// ended without an outcome (a relation the sweep joins in one query), and its outcome callback, which resolves the chase
/// in the same transaction as the outcome. The host is the interview's organiser.
/// </summary>
internal sealed class InterviewMandateSource(InterviewQueries interviews, TimeProvider time) : IMandatedInterviewSource, IInterviewOutcomeListener
{
    public async Task<MandatedInterview?> FindAsync(Guid interviewId, CancellationToken cancellationToken)
        => await interviews.FindAsync(interviewId, cancellationToken) is { } found ? Map(found) : null;

    public InterviewRelation EndedWithoutOutcome(DateTimeOffset endedFrom, DateTimeOffset endedBy) => InterviewQueries.EndedWithoutOutcome(endedFrom, endedBy);

    public Task OnOutcomeRecordedAsync(DbSession session, InterviewSummary interview)
        => OutcomeChaseJob.ResolveAsync(session, interview.InterviewId, DbValues.ToStoragePrecision(time.GetUtcNow()));

    private static MandatedInterview Map(InterviewSummary i)
        => new(i.InterviewId, i.CaseReference, i.OrganiserMemberId, i.OrganiserOrganisationId, i.End, i.Outcome is not null);
}
