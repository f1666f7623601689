-- AlterTable
ALTER TABLE "executions" ADD COLUMN     "purged_at" TIMESTAMPTZ(3);

-- CreateIndex
CREATE INDEX "executions_purged_at_finished_at_idx" ON "executions"("purged_at", "finished_at");

