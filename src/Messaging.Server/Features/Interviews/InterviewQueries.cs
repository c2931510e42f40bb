using Messaging.Contracts;
using Messaging.Server.Persistence;

namespace Messaging.Server.Features.Interviews;

/// <summary>The recorded outcome of an interview.</summary>
internal sealed record InterviewOutcome(bool Held, PersonAttendance? Attendance, DateTimeOffset RecordedAt);

/// <summary>What other features (attendance notices, issue 14) may read of an interview: ids, case reference, times,
/// state and outcome — no addresses, no place.</summary>
internal sealed record InterviewSummary(
    Guid InterviewId,
    string CaseReference,
    Guid OrganiserMemberId,
    Guid OrganiserOrganisationId,
    Guid? JusticeAssistantMemberId,
    bool IncludesPerson,
    DateTimeOffset Start,
    DateTimeOffset End,
    InterviewState State,
    InterviewOutcome? Outcome);

/// <summary>
/// Told when an organiser records an interview's outcome, inside the same write transaction (register implementations
/// with <c>services.AddSingleton&lt;IInterviewOutcomeListener, X&gt;()</c> from the listening feature's own <c>AddX</c>).
/// A listener writes its own tables through the session it is given; throwing a domain exception refuses the outcome
/// (nothing is committed). It must not start another unit of work.
/// </summary>
internal interface IInterviewOutcomeListener
{
    Task OnOutcomeRecordedAsync(DbSession session, InterviewSummary interview);
}

/// <summary>A query of the Interviews feature's tables that another feature uses as a derived table in its own statement:
/// <c>SELECT … FROM (<see cref="Sql"/>) i JOIN …</c>, bound with <see cref="Parameters"/> (their names start with
/// <c>@interviews_</c>). The columns are part of the contract; the tables behind them are not.</summary>
internal sealed record InterviewRelation(string Sql, IReadOnlyList<(string Name, object? Value)> Parameters);

/// <summary>The read API other features use (issue 14: notices chase outcomes not recorded in time).</summary>
internal sealed class InterviewQueries(IDatabase database)
{
    /// <summary>The interview, or null when there is none with this id.</summary>
    public Task<InterviewSummary?> FindAsync(Guid interviewId, CancellationToken cancellationToken = default)
        => database.ReadAsync(async s => await InterviewRepository.GetAsync(s, interviewId) is { } r ? Summarise(r) : null, cancellationToken);

    /// <summary>Live interviews that ended from <paramref name="endedFrom"/> to <paramref name="endedBy"/> (both included)
    /// and have no outcome yet, as a relation the calling feature joins to its own tables in one query, so that it reads
    /// only the interviews it acts on (columns: see <see cref="InterviewRepository.EndedWithoutOutcome"/>).</summary>
    public static InterviewRelation EndedWithoutOutcome(DateTimeOffset endedFrom, DateTimeOffset endedBy) => new(InterviewRepository.EndedWithoutOutcome,
    [
        ("@interviews_started_from", endedFrom - InterviewRepository.LongestInterview),
        ("@interviews_ended_from", endedFrom),
        ("@interviews_ended_by", endedBy),
    ]);

    /// <summary>The interview, inside the caller's unit of work, when it involves <paramref name="organisationId"/> (its
    /// organiser's service, or the service of one of its invited members); null when there is none or it does not.</summary>
    public static async Task<InterviewSummary?> FindInvolvingAsync(DbSession session, Guid interviewId, Guid organisationId)
        => await InterviewRepository.InvolvesOrganisationAsync(session, interviewId, organisationId)
           && await InterviewRepository.GetAsync(session, interviewId) is { } r ? Summarise(r) : null;

    public static InterviewSummary Summarise(InterviewRecord r) => new(
        r.Id, r.CaseReference, r.OrganiserMemberId, r.OrganiserOrganisationId,
        r.Participants.FirstOrDefault(p => p.Role == InterviewParticipantRole.JusticeAssistant)?.MemberId,
        r.IncludesPerson, r.Start, r.End, r.State,
        r.Held is { } held && r.OutcomeRecordedAt is { } at ? new InterviewOutcome(held, r.Attendance, at) : null);
}
