-- DropIndex
DROP INDEX "executions_parent_execution_id_parent_node_id_key";

-- AlterTable
ALTER TABLE "executions" ADD COLUMN     "parent_attempt" INTEGER;

-- CreateIndex
CREATE UNIQUE INDEX "executions_parent_node_attempt_key" ON "executions"("parent_execution_id", "parent_node_id", "parent_attempt");

