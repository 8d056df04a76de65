package main

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v3"

	"github.com/idsnap/idsnap"
	"github.com/idsnap/idsnap/report"
	"github.com/idsnap/idsnap/report/evidence"
)

func (a *app) reviewCommand() *cli.Command {
	return &cli.Command{
		Name:  "review",
		Usage: "run an access-review campaign: start it, track decisions and revocations, close it as evidence",
		Description: "start writes the population to review (review.csv, one row per grant and per\n" +
			"active account without one, each with a stable row_id) as an evidence folder that\n" +
			"is never edited. Reviewers fill decision (keep or revoke), reviewer, decided_at and\n" +
			"comment in a copy; status matches that copy to the campaign and checks each revoke\n" +
			"against the latest snapshot; close writes the closed-review evidence.\n\n" +
			"Examples:\n  idsnap review start --at latest --out q4-review --xlsx --sign idsnap.key\n" +
			"  idsnap review status q4-review --decisions q4-decisions.xlsx --exit-code\n" +
			"  idsnap review close q4-review --decisions q4-decisions.xlsx --out q4-review-closed --sign idsnap.key",
		Commands: []*cli.Command{a.reviewStartCommand(), a.reviewStatusCommand(), a.reviewCloseCommand()},
	}
}

func (a *app) reviewStartCommand() *cli.Command {
	return &cli.Command{
		Name:  "start",
		Usage: "write a campaign folder: review.csv (and .xlsx), campaign.json, manifest, SHA256SUMS",
		Flags: append(exportFlags(),
			&cli.StringFlag{Name: "at", Required: true, Usage: "review access at `WHEN`: each source's latest snapshot at or before it"},
			&cli.BoolFlag{Name: "xlsx", Usage: "also write review.xlsx with a keep/revoke dropdown"},
			rosterFlag(),
		),
		Action: a.reviewStart,
	}
}

// decisionFlags are what status and close read: the returned decisions
// and the moment revocations are checked at.
func decisionFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "decisions", Aliases: []string{"d"}, Required: true, Usage: "the reviewers' copy of review.csv or review.xlsx, `FILE`"},
		&cli.StringFlag{Name: "at", Value: "latest", Usage: "check revocations in each source's snapshot at `WHEN`"},
		utcFlag(),
	}
}

func (a *app) reviewStatusCommand() *cli.Command {
	return &cli.Command{
		Name:      "status",
		Usage:     "kept, revoked-done, revoked-pending and undecided rows, per reviewer, and every decision not accepted",
		ArgsUsage: "DIR",
		Flags: append(decisionFlags(), formatFlag(),
			&cli.BoolFlag{Name: "exit-code", Usage: "exit with status 3 while a revocation is pending or a row undecided"}),
		Action: a.reviewStatus,
	}
}

func (a *app) reviewCloseCommand() *cli.Command {
	return &cli.Command{
		Name:      "close",
		Usage:     "write the closed-review evidence: campaign, decisions as received, status of every row with its proof",
		ArgsUsage: "DIR",
		Flags: append(decisionFlags(),
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Required: true, Usage: "write the evidence folder `DIR` (must not exist or be empty)"},
			&cli.StringFlag{Name: "sign", Usage: "sign manifest.json with the secret key `FILE` (from idsnap keygen)"},
		),
		Action: a.reviewClose,
	}
}

func (a *app) reviewStart(ctx context.Context, cmd *cli.Command) error {
	var camp *evidence.Campaign
	err := a.runReview(ctx, cmd, "review start", func(snaps []idsnap.Snapshot, req evidence.ReviewRequest, state report.StateFunc) (*evidence.Manifest, []report.Skipped, error) {
		m, c, skipped, err := evidence.StartReview(ctx, cmd.String("out"), snaps, req, state)
		camp = c
		return m, skipped, err
	})
	if err == nil && !cmd.Bool("quiet") {
		p := camp.Population
		fmt.Fprintf(a.stdout, "campaign %s: %d rows to review (%d grants, %d active accounts without grants) of %d principals\n",
			camp.ID, p.Rows, p.GrantRows, p.AccountRows, p.Principals)
	}
	return err
}

// judged is a campaign with its decisions judged against the database.
type judged struct {
	campaign  *evidence.OpenedCampaign
	decisions *evidence.Decisions
	status    *evidence.ReviewStatus
	proof     []report.State
}

// reviewJudge opens the campaign (checked intact), reads the decisions and
// judges them against each campaign source's snapshot at --at.
func (a *app) reviewJudge(ctx context.Context, cmd *cli.Command, verb string) (*judged, error) {
	if cmd.Args().Len() != 1 {
		return nil, fmt.Errorf("review %s takes one campaign folder DIR, got %d arguments", verb, cmd.Args().Len())
	}
	oc, err := evidence.OpenCampaign(ctx, cmd.Args().First())
	if err != nil {
		return nil, err
	}
	dec, err := evidence.ReadDecisions(cmd.String("decisions"))
	if err != nil {
		return nil, err
	}
	at, err := a.parseWhen(cmd, "--at", cmd.String("at"))
	if err != nil {
		return nil, err
	}
	db, snaps, err := a.openSnapshots(ctx, cmd)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	st, states, skipped, err := evidence.JudgeCampaign(ctx, oc, dec, snaps, at, a.location(cmd), dbState(db))
	if err != nil {
		return nil, err
	}
	for _, s := range skipped {
		fmt.Fprintf(a.stderr, "idsnap: %s: %s: its revocations stay pending\n", s.Source, s.Reason)
	}
	return &judged{campaign: oc, decisions: dec, status: st, proof: states}, nil
}

func (a *app) reviewStatus(ctx context.Context, cmd *cli.Command) error {
	f, err := a.outputFormat(cmd)
	if err != nil {
		return err
	}
	j, err := a.reviewJudge(ctx, cmd, "status")
	if err != nil {
		return err
	}
	if err := evidence.RenderReviewStatus(a.stdout, f, j.status); err != nil {
		return err
	}
	if cmd.Bool("exit-code") && j.status.Open() {
		return errFound
	}
	return nil
}

func (a *app) reviewClose(ctx context.Context, cmd *cli.Command) error {
	signer, err := a.readSigner(cmd)
	if err != nil {
		return err
	}
	j, err := a.reviewJudge(ctx, cmd, "close")
	if err != nil {
		return err
	}
	proof := make([]idsnap.Snapshot, len(j.proof))
	for i, s := range j.proof {
		proof[i] = s.Snapshot
	}
	params := map[string]string{
		"campaign": j.campaign.Campaign.ID, "campaign_dir": j.campaign.Dir, "decisions": cmd.String("decisions"),
		"at": cmd.String("at"), "resolved": j.status.At,
	}
	out := cmd.String("out")
	m, err := evidence.CloseCampaign(out, evidence.CloseOptions{
		Campaign: j.campaign, Decisions: j.decisions, Status: j.status, Proof: proof,
		Meta: evidence.Meta{GeneratedAt: a.now(), Args: commandLine(cmd), Parameters: params, Signer: signer},
	})
	if err != nil {
		return err
	}
	a.exportSummary(cmd, out, m)
	if !cmd.Bool("quiet") {
		fmt.Fprintln(a.stdout, j.status.Summary())
	}
	return nil
}
